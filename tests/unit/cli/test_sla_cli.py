"""`supportbot digest --preview|--send` and `supportbot sla ...` on a database of mixed tickets."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import typer
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli.sla import register
from bot.store.db import init_db, make_engine
from bot.outbox.queue import queue_mail
from bot.sla.delivery import reply_approved
from bot.store.models import AuditEvent, Draft, OutboxMessage, Ticket
from bot.store.sla_models import SlaExtension, TicketSla
from tests.unit.sla.test_sla_support import BOSS, STAFF, add_ticket, sla_settings
from bot.web.auth import add_user
from tests.unit.sla.test_sla_support import BOSS, STAFF, add_ticket, sla_settings
from tests.support.cli_app import cli_with

runner = CliRunner()


def _cli(settings) -> typer.Typer:
    """A command line with only the SLA commands, given settings as bot.cli.main's callback would."""
    return cli_with(settings, register)


@pytest.fixture
def mixed(database_url, smtp):
    """A database (SQLite file or PostgreSQL) with open, overdue, due-soon and answered tickets, received relative to today."""
    settings = sla_settings(database={"url": database_url},
                            smtp={"host": "127.0.0.1", "port": smtp.port, "security": "none",
                                  "from_address": "support@esl.example"})
    engine = make_engine(settings.database.url)
    init_db(engine)
    now = datetime.now(timezone.utc)
    with Session(engine) as s:
        for days_ago, kind in ((20, "access"), (18, "deletion"), (14, "correction"), (13, "access"), (2, "other")):
            add_ticket(s, settings, now - timedelta(days=days_ago), kind=kind)
        done = add_ticket(s, settings, now - timedelta(days=30), kind="deletion")
        done.status = "answered"
        s.commit()
    yield settings, engine
    engine.dispose()


def test_preview_writes_the_digest_with_counts_and_a_chart(mixed, tmp_path, smtp):
    settings, engine = mixed
    out = tmp_path / "digest.html"
    result = runner.invoke(_cli(settings), ["digest", "--preview", str(out)])
    assert result.exit_code == 0, result.output
    assert ": 5 open, 2 overdue, 2 due within 3 days" in result.output
    html = out.read_text()
    assert html.count('title="') >= 30 and ">5<" in html
    assert smtp.received == []
    with Session(engine) as s:
        assert s.exec(select(OutboxMessage)).all() == []


def test_send_mails_html_with_a_text_part_to_the_managers(mixed, smtp):
    settings, _ = mixed
    result = runner.invoke(_cli(settings), ["digest", "--send"])
    assert result.exit_code == 0, result.output
    assert [m.recipients for m in smtp.received] == [[BOSS]]
    message = smtp.received[0].message
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert "5 open" in message["Subject"] and "Overdue (2)" in message.get_body(("plain",)).get_content()


def test_send_also_completes_a_ticket_whose_approved_reply_it_delivered(mixed, smtp):
    """`digest --send` drains the whole outbox, an approved reply included: as the running bot does
    after a drain, the ticket is completed once the server accepted its reply (not left "replying")."""
    settings, engine = mixed
    now = datetime.now(timezone.utc)
    with Session(engine) as s:
        ticket = s.exec(select(Ticket).where(Ticket.kind == "other")).one()
        reply = queue_mail(s, settings=settings, now=now, ticket=ticket, kind="reply", to=ticket.requester,
                           subject="Your request", text="Here is our answer.", auto_submitted=None, actor=STAFF)
        s.add(Draft(ticket_id=ticket.id, kind="other", status="approved", created_at=now, decided_at=now, decided_by=STAFF,
                    outbox_id=reply.id, to_address=ticket.requester))
        reply_approved(ticket)
        s.add(ticket)
        s.commit()
        ticket_id = ticket.id
    result = runner.invoke(_cli(settings), ["digest", "--send"])
    assert result.exit_code == 0, result.output
    assert sorted(r for m in smtp.received for r in m.recipients) == sorted([BOSS, "user@example.org"])
    with Session(engine) as s:
        assert s.get(Ticket, ticket_id).status == "answered"
        assert s.exec(select(TicketSla).where(TicketSla.ticket_id == ticket_id)).one().completed_at is not None


def test_preview_or_send_exactly_one(mixed):
    settings, _ = mixed
    assert runner.invoke(_cli(settings), ["digest"]).exit_code == 2


def test_extend_assign_complete_and_sweep(mixed, smtp):
    settings, engine = mixed
    app = _cli(settings)
    result = runner.invoke(app, ["sla", "extend", "esl-000001", "--days", "7", "--reason", "export needs review",
                                 "--by", "li"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["sla", "extend", "ESL-000001", "--days", "7", "--reason", " "]).exit_code == 2
    refused = runner.invoke(app, ["sla", "assign", "ESL-000002", "--to", "Alice@ESL.example"])
    assert refused.exit_code == 1 and "no active staff account" in refused.output   # not (yet) a staff account
    with Session(engine) as s:
        add_user(s, "alice@esl.example", "correct horse battery staple", role="staff", now=datetime.now(timezone.utc),
                 min_length=12)
        s.commit()
    assert runner.invoke(app, ["sla", "assign", "ESL-000002", "--to", "Alice@ESL.example"]).exit_code == 0
    result = runner.invoke(app, ["sla", "complete", "ESL-000003"])
    assert result.exit_code == 0 and "in time" in result.output
    assert runner.invoke(app, ["sla", "complete", "ESL-999999"]).exit_code == 1
    result = runner.invoke(app, ["sla", "sweep"])
    assert result.exit_code == 0, result.output
    with Session(engine) as s:
        first = s.exec(select(Ticket).where(Ticket.reference == "ESL-000001")).one()
        assert s.exec(select(SlaExtension)).one().actor == "staff:li"
        assert s.get(TicketSla, 2).assignee == "alice@esl.example"
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "sla.extended")).one().ticket_id == first.id
    recipients = sorted(r for m in smtp.received for r in m.recipients)
    # The notice for ESL-000001; reminders: ESL-000002 (overdue) to Alice and the managers, one mail to
    # staff listing ESL-000001 (2 days left after the extension) and ESL-000004.
    assert recipients == sorted(["user@example.org", "alice@esl.example", BOSS, STAFF])
    assert runner.invoke(app, ["sla", "sweep"]).output.strip().endswith("no reminder due")


def test_an_english_reason_for_a_chinese_requester_is_refused_unless_staff_confirm(database_url, smtp):
    settings = sla_settings(database={"url": database_url})
    engine = make_engine(settings.database.url)
    init_db(engine)
    with Session(engine) as s:
        add_ticket(s, settings, datetime.now(timezone.utc) - timedelta(days=3), language="zh")
        s.commit()
    app = _cli(settings)
    english = ["sla", "extend", "ESL-000001", "--days", "5", "--reason", "the export needs a legal review"]
    refused = runner.invoke(app, english)
    assert refused.exit_code == 2 and "not in Chinese" in " ".join(refused.output.split())
    with Session(engine) as s:
        assert s.exec(select(OutboxMessage)).all() == []        # nothing pasted into a Chinese mail unseen
    assert runner.invoke(app, ["sla", "extend", "ESL-000001", "--days", "5", "--reason", "导出数据需要法务审核"]).exit_code == 0
    confirmed = runner.invoke(app, [*english, "--other-language"])
    assert confirmed.exit_code == 0, confirmed.output
    with Session(engine) as s:
        assert len(s.exec(select(OutboxMessage).where(OutboxMessage.kind == "extension")).all()) == 2
    engine.dispose()
