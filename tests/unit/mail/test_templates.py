"""Acknowledgement templates: both languages, every kind, reference and due date always present."""
from __future__ import annotations

import pytest

from bot.mail.render import MailRenderer

# What an acknowledgement says besides: by default no name to greet, no code, no question.
EXTRAS = dict(name="", code="", hours=24, ask_account=False)
KINDS = {"access": ("access", "查阅"), "correction": ("correction", "更正"),
         "deletion": ("deletion", "删除"), "other": ("general enquiry", "一般咨询")}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", ["en", "zh", "other"])
def test_ack_names_kind_reference_and_due_date(kind, language):
    mail = MailRenderer().render("ack", language, reference="ESL-000042", kind=kind,
                                 original_subject="Hello", received_date="2026-11-24",
                                 due_date="2026-12-09", timezone="Asia/Shanghai", sla_days=15, **EXTRAS)
    assert mail.subject.startswith("[ESL-000042] ") and "\n" not in mail.subject
    assert "ESL-000042" in mail.text and "2026-12-09" in mail.text and "15" in mail.text
    label = KINDS[kind][1 if language == "zh" else 0]
    assert label in mail.text
    assert ("verify" in mail.text or "验证" in mail.text or "confirm" in mail.text) == (kind != "other")


def test_a_missing_value_is_an_error_not_a_blank():
    with pytest.raises(Exception, match="due_date"):
        MailRenderer().render("ack", "en", reference="ESL-1", kind="access", original_subject="",
                              received_date="2026-11-24", timezone="UTC", sla_days=15, **EXTRAS)
