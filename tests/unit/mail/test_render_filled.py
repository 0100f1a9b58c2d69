"""render_filled (templates rendered once, fields filled in per mail) gives exactly what render gives."""
from __future__ import annotations

import itertools

import pytest

from bot.mail.render import MailRenderer

NAMES = ("", "王芳", "  Alice   Walker ", "{{ reference }}", "\x00code\x00")
SUBJECTS = ("", "Delete my data", "删除  我的\t数据\n again", "\x00reference\x00 {% if %}")
CODES = ("", "482913")


@pytest.mark.parametrize("language", ["en", "zh", "other"])
@pytest.mark.parametrize("kind", ["access", "deletion", "other"])
def test_every_acknowledgement_is_as_rendered_whole(language, kind):
    filled_by, whole = MailRenderer(), MailRenderer()   # the second mail of a shape comes from what the first left
    for name, subject, code, ask_account in itertools.product(NAMES, SUBJECTS, CODES, (False, True)):
        for reference in ("ESL-000001", "ESL-123456"):
            fields = dict(reference=reference, original_subject=subject, received_date="2026-11-24",
                          due_date="2026-12-09", name=name, code=code)
            context = dict(kind=kind, timezone="Asia/Shanghai", sla_days=15, hours=72, ask_account=ask_account)
            assert filled_by.render_filled("ack", language, fields, **context) == \
                whole.render("ack", language, **fields, **context)


def test_a_missing_field_is_still_an_error_not_a_blank():
    renderer = MailRenderer()
    fields = dict(reference="ESL-1", original_subject="", received_date="2026-11-24", name="", code="")
    with pytest.raises(Exception, match="due_date"):
        renderer.render_filled("ack", "en", fields, kind="access", timezone="UTC", sla_days=15, hours=24,
                               ask_account=False)
