"""Retention: bodies of tickets finished more than [retention] days ago are emptied, once; the audit trail stays."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
import typer
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli.retention import register
from bot.config import Settings, SmtpSettings
from bot.store.db import init_db, make_engine, session_factory, transaction
from bot.drafts.approve import approve
from bot.mail.sink import SmtpSink
from bot.store.models import AuditEvent, Draft, DraftAttachment, InboundMessage, OutboxMessage, Ticket
from bot.mail.render import MailRenderer
from bot.store.retention import report, run_purge
from bot.outbox.sender import drain_outbox
from bot.sla import mark_completed
from bot.store.sla_models import TicketSla
from bot.service.scheduler import SlaJobs
from bot.tickets.views import ticket_detail
from bot.sla.delivery import settle_replies
from tests.support.pipeline_flow import TRUSTED_PASS, Flow, mail, make_app
from tests.unit.web.test_web_helpers import anon, bot, client, fast_hashes, flow, post  # noqa: F401
from tests.support.cli_app import cli_with
from tests.support.refs import plain

DAY = timedelta(days=1)
BODY = "Please send me a copy of my personal data."


def send_all(app, smtp) -> None:
    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none", from_address="support@esl.example")
    asyncio.run(drain_outbox(app.sessions, SmtpSink(settings), app.clock, settings))
    settle_replies(app.sessions, app.settings, app.clock)   # as App.drain_outbox does: sent = completed


def contents(app) -> dict[int | None, dict[str, int]]:
    """Per ticket (None: no ticket), how many rows of each kind still hold a body."""
    found: dict[int | None, dict[str, int]] = {}
    with Session(app.engine) as s:
        for m in s.exec(select(InboundMessage)):
            found.setdefault(m.ticket_id, {}).setdefault("messages", 0)
            found[m.ticket_id]["messages"] += bool(m.raw) + bool(m.new_text) > 0
        for o in s.exec(select(OutboxMessage)):
            found.setdefault(o.ticket_id, {}).setdefault("outbox", 0)
            found[o.ticket_id]["outbox"] += bool(o.raw)
        for d in s.exec(select(Draft)):
            found.setdefault(d.ticket_id, {}).setdefault("drafts", 0)
            found[d.ticket_id]["drafts"] += bool(d.text)
        for a, d in s.exec(select(DraftAttachment, Draft).join(Draft, Draft.id == DraftAttachment.draft_id)):
            found.setdefault(d.ticket_id, {}).setdefault("attachments", 0)
            found[d.ticket_id]["attachments"] += bool(a.data)
    return found


def audit_rows(app) -> list[tuple]:
    with Session(app.engine) as s:
        return [(e.id, e.action, e.detail) for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]


def finished_access(app, flow, smtp, n: int, sender: str = "owner@example.org") -> Ticket:
    """A verified access request, its export drafted, approved and sent: the ticket is answered now."""
    flow.send(mail(sender, "Send me my data", BODY, f"<a{n}@x>", Authentication_Results=TRUSTED_PASS))
    ticket = flow.ticket(n)
    with transaction(app.sessions) as session:
        draft = session.exec(select(Draft).where(Draft.ticket_id == ticket.id, Draft.status == "pending")).one()
        approve(session, draft.id, app.pipeline, actor="staff:amy@esl.example")
    send_all(app, smtp)
    return flow.ticket(n)


@pytest.fixture
def history(bot, flow, clock, smtp):
    """Ticket 1 answered a year and more ago; machine mail then; ticket 2 open since then; ticket 3 answered lately."""
    finished_access(bot, flow, smtp, 1)
    flow.send(mail("mailer-daemon@example.org", "Auto: out of office", "I am away.", "<ooo@x>", Auto_Submitted="auto-replied"))
    flow.send(mail("someone@example.org", "Delete my account", "Please delete my account.", "<d2@x>"))
    clock.advance(300 * DAY)
    finished_access(bot, flow, smtp, 3)
    clock.advance(66 * DAY)                 # ticket 1: 366 days since it was answered; ticket 3: 66
    flow.send(mail("mailer-daemon@example.org", "Auto: away", "Away again.", "<ooo2@x>", Auto_Submitted="auto-replied"))
    return bot


def test_report_lists_what_is_due_and_changes_nothing(history, clock):
    before, trail = contents(history), audit_rows(history)
    with Session(history.engine) as s:
        due = report(s, clock.now(), 365)
    assert [plain(t.reference) for t in due.tickets] == ["ESL-000001"]
    counts = due.tickets[0].counts()
    assert counts == before[1] and counts["attachments"] >= 1 and counts["outbox"] == 2   # ack and the reply
    assert (due.loose_messages, due.loose_outbox) == (1, 0)       # the old out-of-office only
    assert contents(history) == before and audit_rows(history) == trail


def test_purge_empties_old_bodies_once_and_keeps_the_audit_trail(history, clock):
    before, trail = contents(history), audit_rows(history)
    done = run_purge(history.sessions, clock.now(), 365)
    assert [(plain(t.reference), t.counts()) for t in done.tickets] == [("ESL-000001", before[1])]
    after = contents(history)
    assert after[1] == {key: 0 for key in before[1]}                # everything of ticket 1 emptied
    assert after[2] == before[2] and after[3] == before[3]          # open, and answered 66 days ago
    assert after[None] == {"messages": 1}                           # the recent out-of-office stays
    with Session(history.engine) as s:
        purged = s.exec(select(InboundMessage).where(InboundMessage.purged_at.is_not(None))).all()
        assert {(m.ticket_id, m.raw, m.new_text, m.purged_at) for m in purged} == {
            (1, b"", "", clock.now()), (None, b"", "", clock.now())}
        assert s.exec(select(func.count()).select_from(Ticket)).one() == 3   # tickets stay, so do their rows
    new = audit_rows(history)
    assert new[:len(trail)] == trail                                # nothing of the trail changed
    events = [(action, json.loads(detail)) for _, action, detail in new[len(trail):]]
    assert [a for a, _ in events] == ["retention.purged", "retention.purged"]
    assert {k: events[0][1][k] for k in before[1]} == before[1] and events[0][1]["days"] == 365
    assert events[1][1] == {"days": 365, "without_ticket": True, "messages": 1, "outbox": 0}
    assert BODY not in "".join(d for _, _, d in new) and "I am away" not in "".join(d for _, _, d in new)
    again = run_purge(history.sessions, clock.now(), 365)           # the next day's run, or another process
    assert again.empty and audit_rows(history) == new and contents(history) == after


def test_batches_purge_every_due_ticket(bot, flow, clock, smtp):
    for n in (1, 2, 3):
        finished_access(bot, flow, smtp, n)
    clock.advance(400 * DAY)
    done = run_purge(bot.sessions, clock.now(), 365, batch=1)
    assert [plain(t.reference) for t in done.tickets] == ["ESL-000001", "ESL-000002", "ESL-000003"]
    assert all(not any(c.values()) for key, c in contents(bot).items() if key is not None)


def test_a_reopened_ticket_is_not_purged_and_its_completion_date_counts(bot, flow, clock, smtp):
    ticket = finished_access(bot, flow, smtp, 1)
    clock.advance(200 * DAY)
    with transaction(bot.sessions) as session:   # answered again later: the year runs from then
        mark_completed(session, session.get(Ticket, ticket.id), bot.settings, clock.now(), status="closed")
    clock.advance(200 * DAY)
    assert run_purge(bot.sessions, clock.now(), 365).empty
    with transaction(bot.sessions) as session:
        session.get(Ticket, ticket.id).status = "open"
    clock.advance(400 * DAY)
    assert run_purge(bot.sessions, clock.now(), 365).empty   # open again: on the clock, kept


def test_the_daily_job_purges(history, clock):
    jobs = SlaJobs(sessions=history.sessions, clock=clock, settings=history.settings, renderer=MailRenderer())
    assert [plain(t.reference) for t in jobs.purge().tickets] == ["ESL-000001"]
    assert jobs.purge().empty


def test_console_and_cli_cope_with_purged_tickets(history, client, clock):
    run_purge(history.sessions, clock.now(), 365)
    page = client.get("/tickets/ESL-000001").text
    assert "purged under retention" in page and BODY not in page
    assert "Audit trail" in page and "retention.purged" in page
    with Session(history.engine) as s:
        attachment = s.exec(select(DraftAttachment).join(Draft, Draft.id == DraftAttachment.draft_id)
                            .where(Draft.ticket_id == 1)).first()
    assert client.get(f"/drafts/{attachment.draft_id}/attachments/{attachment.id}").status_code == 410
    assert BODY in client.get("/tickets/ESL-000003").text              # a recent one is whole
    assert "reclassify" in client.get("/tickets/ESL-000001").text
    post(client, "/tickets/ESL-000001/reclassify", kind="deletion")
    assert "purged under retention" in client.get("/tickets/ESL-000001").text
    with Session(history.engine) as s:
        assert s.get(Ticket, 1).kind == "access"                       # refused: nothing to classify from
        detail = ticket_detail(s, history.settings, clock.now(), "ESL-000001")
    assert [m["new_text"] for m in detail["messages"]] == ["(purged under retention)"]
    assert detail["messages"][0]["purged_at"]


def test_purged_quarantined_message_shows_no_source(bot, flow, client, clock):
    with transaction(bot.sessions) as session:
        session.add(InboundMessage(dedup_key="q1", sender="x@example.org", subject="odd", raw=b"Subject: odd\r\n\r\nsecret",
                                   received_at=clock.now() - 400 * DAY, status="quarantined", quarantine_reason="Boom"))
    assert "secret" in client.get("/quarantine/1").text
    run_purge(bot.sessions, clock.now(), 365)
    page = client.get("/quarantine/1").text
    assert "purged under retention" in page and "secret" not in page
    assert client.get("/quarantine/1/raw").status_code == 410


def _cli(settings: Settings) -> typer.Typer:
    return cli_with(settings, register)


def test_purge_command_dry_run_then_purge(tmp_path, clock, smtp, fast_hashes, database_url):   # noqa: F811
    url = database_url
    engine = make_engine(url)
    init_db(engine)
    app = make_app(engine, clock, tmp_path)
    flow = Flow(app)
    finished_access(app, flow, smtp, 1)
    with transaction(session_factory(engine)) as session:   # the command reads the real clock
        session.get(TicketSla, 1).completed_at = datetime(2020, 1, 1, tzinfo=timezone.utc)
    settings = Settings(database={"url": url})
    runner = CliRunner()
    dry = runner.invoke(_cli(settings), ["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "ESL-000001" in dry.output and "would purge" in dry.output and "nothing was changed" in dry.output
    assert contents(app)[1]["messages"] == 1
    refused = runner.invoke(_cli(settings), ["purge", "--days", "1"])
    assert refused.exit_code == 2 and contents(app)[1]["messages"] == 1
    done = runner.invoke(_cli(settings), ["purge"])
    assert done.exit_code == 0 and "ESL-000001" in done.output and "purged" in done.output
    assert contents(app)[1]["messages"] == 0
    assert "1 ticket(s)" not in runner.invoke(_cli(settings), ["purge"]).output   # nothing left: 0 ticket(s)
    engine.dispose()
