"""A fetched batch is one transaction, savepoints only to replay after a failure: failures, dry runs, the audit trail."""
from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage
from email.policy import SMTP

from sqlalchemy import event
from sqlmodel import Session, func, select

from bot.store import audit
from bot.service.app import build_app
from bot.classify import Classification
from bot.config import Settings
from bot.intake.fetcher import drain_folder
from bot.store.models import AuditEvent, InboundMessage, MailboxState, OutboxMessage, Ticket
from tests.support.memory_mailbox import MemoryMailbox


def mail(sender: str, subject: str, msgid: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, "support@esl.example", subject, msgid
    msg.set_content("Please delete my account and all my data.")
    return msg.as_bytes(policy=SMTP)


class FailsOnPoison:
    """Fails after the message's row was written in its savepoint: only that work may be undone."""

    def classify(self, subject: str, body: str) -> Classification:
        if "poison" in subject:
            raise ValueError("cannot classify this one")
        return Classification("deletion", ("deletion",), 0.9, "en")


def make(engine, clock):
    settings = Settings(smtp={"from_address": "support@esl.example"})
    return build_app(settings, engine=engine, clock=clock, create_schema=False, classifier=FailsOnPoison())


def count(engine, model, *where) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def mailbox() -> MemoryMailbox:
    box = MemoryMailbox()
    for n, subject in enumerate(["Delete my data", "poison", "Delete my data too"]):
        box.add(mail(f"user{n}@example.org", subject, f"<{n}@x>"))
    return box


def test_a_failing_message_in_a_batch_is_quarantined_alone(engine, clock):
    app, box = make(engine, clock), mailbox()
    report = drain_folder(box, app.pipeline, folder="INBOX", batch_size=50)
    assert report.outcomes == {"new-ticket": 2, "quarantined": 1}
    assert count(engine, Ticket) == 2 and count(engine, OutboxMessage, OutboxMessage.kind == "ack") == 2
    with Session(engine) as s:
        statuses = [(r.sender, r.status) for r in s.exec(select(InboundMessage).order_by(InboundMessage.id))]
        assert s.get(MailboxState, "INBOX").last_uid == 3
    assert statuses == [("user0@example.org", "handled"), ("user1@example.org", "quarantined"),
                        ("user2@example.org", "handled")]
    assert count(engine, AuditEvent, AuditEvent.action == "ticket.opened") == 2
    assert count(engine, AuditEvent, AuditEvent.action == "message.quarantined") == 1
    assert all("\\Seen" in flags for flags in box.flags.values())


def test_a_dry_run_of_a_batch_changes_nothing_and_reports_every_message(engine, clock):
    app, box = make(engine, clock), mailbox()
    seen = []
    pipeline = replace(app.pipeline, dry_run=True, observer=lambda ctx: seen.append(ctx.ticket.reference))
    report = drain_folder(box, pipeline, folder="INBOX", batch_size=50)
    assert report.outcomes == {"new-ticket": 2, "quarantined": 1}
    assert len(seen) == 2   # told while its rows were visible, in the transaction
    for model in (InboundMessage, Ticket, OutboxMessage, AuditEvent, MailboxState):
        assert count(engine, model) == 0
    assert not any(box.flags.values())


def test_audit_events_are_readable_in_their_transaction_and_forgotten_with_a_savepoint(engine, clock):
    with Session(engine) as s:
        audit.record(s, clock.now(), "kept.one")
        assert [e.action for e in s.exec(select(AuditEvent))] == ["kept.one"]
        savepoint = s.begin_nested()
        audit.record(s, clock.now(), "undone")
        savepoint.rollback()
        audit.record(s, clock.now(), "kept.two", detail="x")
        s.commit()
    with Session(engine) as s:
        assert [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))] == ["kept.one", "kept.two"]


def test_events_recorded_before_a_savepoint_survive_a_rollback_to_it(engine, clock):
    with Session(engine) as s:
        audit.record(s, clock.now(), "before")
        with s.begin_nested() as savepoint:
            audit.record(s, clock.now(), "inside")
            savepoint.rollback()
        s.commit()
    with Session(engine) as s:
        assert [e.action for e in s.exec(select(AuditEvent))] == ["before"]


def test_a_batch_without_failures_takes_no_savepoints_and_moves_the_watermark_once(engine, clock):
    """A savepoint per message cost more than most messages' rows (#16): they are taken only to replay."""
    app, box = make(engine, clock), MemoryMailbox()
    for n in range(3):
        box.add(mail(f"user{n}@example.org", "Delete my data", f"<{n}@x>"))
    statements = _recorded(engine)
    report = drain_folder(box, app.pipeline, folder="INBOX", batch_size=50)
    assert report.outcomes == {"new-ticket": 3}
    assert not [s for s in statements if "SAVEPOINT" in s.upper()]
    assert len([s for s in statements if s.lstrip().upper().startswith("UPDATE MAILBOXSTATE")]) == 1
    with Session(engine) as s:
        assert s.get(MailboxState, "INBOX").last_uid == 3


def test_after_a_failure_the_messages_before_it_are_replayed_in_savepoints(engine, clock):
    app, box = make(engine, clock), mailbox()
    statements = _recorded(engine)
    drain_folder(box, app.pipeline, folder="INBOX", batch_size=50)
    assert any(s.upper().startswith("SAVEPOINT") for s in statements)
    assert count(engine, Ticket) == 2 and count(engine, AuditEvent, AuditEvent.action == "ticket.opened") == 2


def _recorded(engine) -> list[str]:
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql))
    return statements
