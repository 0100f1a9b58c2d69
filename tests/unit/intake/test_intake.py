"""Intake through the real pipeline on an in-memory mailbox: tickets, threading, duplicates, quarantine."""
from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlmodel import Session, func, select

from bot.service.app import build_app
from bot.classify import Classification
from bot.intake.fetcher import drain_folder
from bot.store.models import AuditEvent, InboundMessage, MailboxState, OutboxMessage, Ticket
from tests.support.memory_mailbox import Crash, MemoryMailbox
from tests.support.refs import plain


def mail(sender: str, subject: str, body: str, msgid: str | None = None, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "support@esl.example", subject
    if msgid:
        msg["Message-ID"] = msgid
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)


@pytest.fixture
def app(settings, engine, clock):
    return build_app(settings, engine=engine, clock=clock, create_schema=False)


def drain(app, box: MemoryMailbox):
    return drain_folder(box, app.pipeline, folder="INBOX", batch_size=3)


def count(app, model) -> int:
    with Session(app.engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def tickets(app) -> list[Ticket]:
    with Session(app.engine) as s:
        return list(s.exec(select(Ticket).order_by(Ticket.id)))


def test_each_request_opens_one_ticket_with_ack_and_due_date(app, clock):
    box = MemoryMailbox()
    box.add(mail("a@example.org", "Delete my account", "Please delete my account and all my data.", "<1@x>"))
    box.add(mail("b@example.cn", "查阅个人信息", "请把你们收集的我的个人信息导出发给我。", "<2@x>"))
    report = drain(app, box)
    assert report.outcomes["new-ticket"] == 2
    t1, t2 = tickets(app)
    assert (plain(t1.reference), t1.kind, t1.language) == ("ESL-000001", "deletion", "en")
    assert (t2.kind, t2.language) == ("access", "zh")
    assert (t1.due_at - t1.received_at).days == 15 and t1.received_at == clock.now()
    with Session(app.engine) as s:
        acks = list(s.exec(select(OutboxMessage).where(OutboxMessage.kind == "ack").order_by(OutboxMessage.id)))
    assert [a.to_address for a in acks] == ["a@example.org", "b@example.cn"]
    assert "[ESL-000001]" in plain(acks[0].subject) and b"In-Reply-To: <1@x>" in acks[0].raw
    assert b"Auto-Submitted: auto-replied" in acks[0].raw
    assert all("\\Seen" in f for f in box.flags.values())


def test_machine_mail_is_stored_but_never_answered(app):
    box = MemoryMailbox()
    box.add(mail("boss@example.com", "Automatic reply: away", "I am away.", "<a@x>", Auto_Submitted="auto-replied"))
    box.add(mail("MAILER-DAEMON@mx.example", "Undelivered Mail", "user unknown", "<b@x>"))
    box.add(mail("support@esl.example", "loop", "our own mail", "<c@x>"))
    drain(app, box)
    assert count(app, Ticket) == 0 and count(app, OutboxMessage) == 0
    with Session(app.engine) as s:
        reasons = [m.machine_reason for m in s.exec(select(InboundMessage))]
    assert len(reasons) == 3 and all(reasons)


def test_replies_join_their_ticket_by_headers_or_requester_reference(settings, engine, clock):
    settings.verification.trusted_authserv_ids = ["mx.esl.example"]
    app = build_app(settings, engine=engine, clock=clock, create_schema=False)
    box = MemoryMailbox()
    box.add(mail("a@example.org", "Copy of my data", "Please send me a copy of my personal data.", "<1@x>"))
    drain(app, box)
    with Session(app.engine) as s:
        ack_id = s.exec(select(OutboxMessage.message_id).where(OutboxMessage.kind == "ack")).one()
    reference = tickets(app)[0].reference
    box.add(mail("a@example.org", "Re: something", "More details.", "<2@x>", In_Reply_To=ack_id))
    # A reference alone joins only from the requester with our MX's authentication pass.
    box.add(mail("a@example.org", f"About [{reference}]", "One more thing.", "<3@x>",
                 Authentication_Results="mx.esl.example; dmarc=pass header.from=example.org"))
    box.add(mail("mallory@evil.example", f"Re: [{reference}]", "Send me her data.", "<4@x>"))
    box.add(mail("a@example.org", f"Re: [{reference}] hello", "Where is my parcel?", "<5@x>"))  # forged
    report = drain(app, box)
    assert report.outcomes["follow-up"] == 2 and report.outcomes["new-ticket"] == 2
    refs = [t.requester for t in tickets(app)]
    # the stranger got a ticket of their own; so did the unauthenticated "requester"
    assert refs == ["a@example.org", "mallory@evil.example", "a@example.org"]
    with Session(app.engine) as s:
        acks = s.exec(select(func.count()).where(OutboxMessage.kind == "ack")).one()
    assert acks == 3  # follow-ups are not acknowledged again


def test_nothing_is_handled_twice_and_forged_message_ids_do_not_suppress_mail(app):
    box = MemoryMailbox()
    original = mail("a@example.org", "Delete my data", "Please delete my data.", "<same@x>")
    box.add(original)
    drain(app, box)
    box.add(original)  # the same message delivered again under a new UID
    box.add(mail("victim@example.org", "Delete my data", "Please erase everything about me.", "<same@x>"))
    report = drain(app, box)
    assert report.outcomes == {"duplicate": 1, "new-ticket": 1}
    assert [t.requester for t in tickets(app)] == ["a@example.org", "victim@example.org"]
    assert drain(app, box).handled == 0  # a second run finds nothing new


def test_uidvalidity_change_rescans_without_doubles(app):
    box = MemoryMailbox()
    for i in range(4):
        box.add(mail(f"u{i}@example.org", "Delete my account", f"Please delete account {i}.", f"<{i}@x>"))
    drain(app, box)
    box.renumber()
    box.add(mail("new@example.org", "Delete my account", "Please delete my account.", "<new@x>"))
    report = drain(app, box)
    assert report.outcomes == {"duplicate": 4, "new-ticket": 1}
    with Session(app.engine) as s:
        state = s.get(MailboxState, "INBOX")
        assert (state.uidvalidity, state.last_uid) == (2, 5)
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "mailbox.uidvalidity_changed")).first()


def test_crash_before_flagging_is_repaired_and_nothing_doubles(app):
    box = MemoryMailbox(crash_on_mark=True)
    for i in range(5):
        box.add(mail(f"u{i}@example.org", "Delete my account", f"Please delete account {i}.", f"<{i}@x>"))
    with pytest.raises(Crash):
        drain(app, box)
    assert count(app, Ticket) == 3  # the first batch committed, then the connection died
    box.crash_on_mark = False
    drain(app, box)
    assert count(app, Ticket) == 5
    with Session(app.engine) as s:
        assert s.exec(select(func.count()).where(OutboxMessage.kind == "ack")).one() == 5
    assert all("\\Seen" in f for f in box.flags.values())


class ExplodingClassifier:
    def classify(self, subject: str, body: str) -> Classification:
        if "boom" in subject:
            raise ValueError("classifier cannot cope")
        return Classification("deletion", ("deletion",), 0.9, "en")


def test_a_message_that_cannot_be_handled_is_quarantined_once(settings, engine, clock):
    app = build_app(settings, engine=engine, clock=clock, classifier=ExplodingClassifier(), create_schema=False)
    box = MemoryMailbox()
    box.add(mail("a@example.org", "boom", "x", "<1@x>"))
    box.add(mail("b@example.org", "fine", "Delete my data", "<2@x>"))
    assert drain(app, box).outcomes == {"quarantined": 1, "new-ticket": 1}
    with Session(app.engine) as s:
        bad = s.exec(select(InboundMessage).where(InboundMessage.status == "quarantined")).one()
    assert "ValueError" in bad.quarantine_reason and bad.raw.startswith(b"From: a@example.org")
    box.renumber()
    assert drain(app, box).outcomes == {"duplicate": 2}  # never retried forever
