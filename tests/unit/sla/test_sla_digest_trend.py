"""The digest's trend: who open tickets wait on, this week against last, the oldest, links to the console."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import Session
from typer.testing import CliRunner

from bot.store.models import Draft, OutboxMessage
from bot.mail.render import MailRenderer
from bot.sla.digest_mail import build_digest
from bot.sla.digest_trend import digest_trend
from bot.store.sla_models import TicketSla
from tests.unit.sla.test_sla_support import add_ticket, sla_settings

DAY = timedelta(days=1)
CONSOLE = "https://support.esl.example"


def _build(s, clock, settings):
    now = clock.now()
    waits_on_them = add_ticket(s, settings, now - 20 * DAY, kind="deletion", waiting_on="requester")
    drafted = add_ticket(s, settings, now - 3 * DAY)
    s.add(Draft(ticket_id=drafted.id, kind="access", created_at=now))
    undelivered = add_ticket(s, settings, now - 2 * DAY)
    s.add(OutboxMessage(ticket_id=undelivered.id, kind="reply-access", to_address="u@example.org", subject="r",
                        message_id="<r@esl>", raw=b"x", status="failed", next_attempt_at=now, created_at=now))
    add_ticket(s, settings, now - 1 * DAY, kind="correction")                        # staff's turn
    for received, done, on_time in ((now - 12 * DAY, now - 9 * DAY, True), (now - 10 * DAY, now - 2 * DAY, True),
                                    (now - 30 * DAY, now - 1 * DAY, False)):
        t = add_ticket(s, settings, received, status="answered")
        s.add(TicketSla(ticket_id=t.id, completed_at=done, on_time=on_time))
    s.commit()
    return waits_on_them.reference


def test_open_by_kind_and_whom_they_wait_on_weeks_and_the_oldest(engine, clock):
    settings = sla_settings()
    with Session(engine) as s:
        oldest = _build(s, clock, settings)
        trend = digest_trend(s, settings, clock.now())
    assert trend.waiting == {("deletion", "requester"): 1, ("access", "draft awaiting approval"): 1,
                             ("access", "undelivered reply"): 1, ("correction", "staff"): 1}
    assert (trend.this_week.new, trend.this_week.completed, trend.this_week.completed_on_time) == (3, 2, 1)
    assert (trend.last_week.new, trend.last_week.completed, trend.last_week.completed_on_time) == (2, 1, 1)
    assert trend.this_week.median_days == (8 + 29) / 2 and trend.last_week.median_days == 3
    assert [t.reference for t in trend.oldest][0] == oldest and len(trend.oldest) == 4
    assert trend.oldest[0].age_days == 20 and trend.oldest[0].waiting_on == "requester"


def test_every_reference_and_needs_attention_link_to_the_console(engine, clock):
    settings = sla_settings(web={"public_url": CONSOLE + "/"})
    with Session(engine) as s:
        _build(s, clock, settings)
        digest = build_digest(s, settings, clock.now(), MailRenderer())
    shown = set(re.findall(r"ESL-\d{6}", digest.html))
    linked = set(re.findall(rf'href="{CONSOLE}/tickets/(ESL-\d{{6}})"', digest.html))
    assert shown and shown == linked
    assert f'href="{CONSOLE}/mail/failed"' in digest.html and f"{CONSOLE}/mail/failed" in digest.text
    assert "<script" not in digest.html and "<img" not in digest.html and "<link" not in digest.html
    assert "class=" not in digest.html                                   # inline styles only
    assert "draft awaiting approval" in digest.html and "This week against last" in digest.text


def test_a_new_deployment_explains_its_empty_figures(engine, clock):
    with Session(engine) as s:
        digest = build_digest(s, sla_settings(), clock.now(), MailRenderer())
    assert "href" not in digest.html                                     # no public_url: pages named, not linked
    assert "no request fell due yet" in digest.html and "No request was completed in that time yet" in digest.html
    assert "no request was completed in that week yet" in digest.text


def test_preview_into_a_missing_folder_is_a_clear_error(tmp_path):
    from bot.cli.sla import register
    from tests.support.cli_app import cli_with
    result = CliRunner().invoke(cli_with(sla_settings(database={"url": f"sqlite:///{tmp_path}/x.db"}), register),
                                ["digest", "--preview", "/no/such/dir/x.html"])
    assert result.exit_code == 2 and "there is no folder /no/such/dir" in result.output
    assert "Traceback" not in result.output
