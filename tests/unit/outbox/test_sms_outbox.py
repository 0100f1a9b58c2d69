"""Codes by SMS go through the outbox: sent after commit, retried, given up for staff to see, never logged whole."""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, func, select

from bot.config import SmtpSettings
from bot.store.db import transaction
from bot.intake.fetcher import drain_folder
from bot.mail.sink import SmtpSink
from bot.store.models import AuditEvent, Challenge, OutboxMessage, Ticket
from bot.intake.batch import IntakeBatch
from bot.mail.context import Location
from bot.store.retention import run_purge
from bot.outbox.sender import _claim, drain_outbox
from bot.sla import mark_completed
from bot.outbox.sms import SMS_KIND
from bot.mail.sms import LoggingSmsSender, SmsError
from bot.web.undelivered import failed_page
from tests.support.memory_mailbox import MemoryMailbox
from tests.support.pipeline_flow import Flow, mail, make_app
from tests.unit.web.test_web_helpers import anon, bot, client, fast_hashes, flow, post  # noqa: F401
from tests.unit.web.test_web_helpers import anon, bot, client, fast_hashes, flow, post  # noqa: F401
from tests.support.refs import plain

PHONE, MASKED = "+8613700137000", "+86137****7000"   # account A4: a phone, no email
SPELLINGS = ("13700137000", "137 0013 7000", "137-0013-7000")
NO_EMAIL_REQUEST = mail("someone@example.org", "注销", "请注销账号，昵称：nomail", "<n@x>")


class RefusingGateway:
    """A gateway that is down, quoting the number in its error as real ones do."""

    def __init__(self) -> None:
        self.calls = 0

    def send_code(self, phone_e164: str, code: str, reference: str) -> None:
        self.calls += 1
        raise SmsError(f"rejected {phone_e164}: 1015 daily quota used up")


def drain(app, smtp, sms, *, sent_copies=None, **smtp_settings):
    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none", from_address="support@esl.example",
                            **smtp_settings)
    return asyncio.run(drain_outbox(app.sessions, SmtpSink(settings), app.clock, settings, sms=sms,
                                    sent_copies=sent_copies, global_per_hour=app.settings.loops.global_per_hour))


def sms_rows(app) -> list[OutboxMessage]:
    with Session(app.engine) as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.kind == SMS_KIND).order_by(OutboxMessage.id)))


def count(app, model) -> int:
    with Session(app.engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_a_rolled_back_batch_sends_no_code_and_handling_it_again_sends_exactly_one(engine, clock, tmp_path, smtp):
    app = make_app(engine, clock, tmp_path)
    with pytest.raises(OperationalError):
        with IntakeBatch(app.pipeline) as batch:
            assert batch.handle(NO_EMAIL_REQUEST, Location("INBOX", 1, 1)) == "new-ticket"
            # The database fails later in the same batch: everything handled in it is rolled back.
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
    assert (count(app, Ticket), count(app, OutboxMessage)) == (0, 0)
    drain(app, smtp, app.sms)
    assert app.sms.sent == []                                    # the code that was never committed went nowhere
    box = MemoryMailbox()
    box.add(NO_EMAIL_REQUEST)                                    # the batch is fetched and handled again
    assert drain_folder(box, app.pipeline, folder="INBOX").outcomes == {"new-ticket": 1}
    assert app.sms.sent == []                                    # committed, not yet sent
    drain(app, smtp, app.sms)
    drain(app, smtp, app.sms)
    with Session(app.engine) as s:
        reference = s.exec(select(Ticket.reference)).one()       # PostgreSQL spent a number on the rolled-back one
    assert app.sms.sent == [(PHONE, reference)]                  # one code, and it is the valid one
    [row] = sms_rows(app)
    assert (row.status, row.raw, row.to_address) == ("sent", b"", PHONE)   # no copy of the code is kept
    with Session(app.engine) as s:
        assert s.exec(select(Challenge)).one().status == "open"


def test_a_failing_gateway_is_retried_with_backoff_then_shown_undelivered_with_the_phone_masked(
        bot, flow, client, smtp, clock, caplog):
    caplog.set_level(logging.DEBUG)
    gateway = RefusingGateway()
    send = lambda: drain(bot, smtp, gateway, max_attempts=3, retry_base_seconds=30)   # noqa: E731
    flow.send(NO_EMAIL_REQUEST)
    report = send()
    assert (report.sent, report.deferred, gateway.calls) == (1, 1, 1)    # the ack went; the code waits
    clock.advance(timedelta(seconds=29))
    assert send().deferred == 0 and gateway.calls == 1                   # not due yet: backoff
    clock.advance(timedelta(seconds=2))
    assert send().deferred == 1 and gateway.calls == 2
    clock.advance(timedelta(seconds=59))                                 # the second wait is twice as long
    assert send().deferred == 0 and gateway.calls == 2
    clock.advance(timedelta(seconds=2))
    assert send().failed == 1 and gateway.calls == 3                     # max_attempts: given up
    [row] = sms_rows(bot)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error == "SMS gateway: rejected [phone]: 1015 daily quota used up"
    with Session(bot.engine) as s:
        [listed], *_ = failed_page(s, 1, 10)
        trail = " ".join(e.detail for e in s.exec(select(AuditEvent)))
    assert (listed["kind"], listed["to"]) == (SMS_KIND, MASKED)
    page, ticket_page = client.get("/mail/failed").text, client.get("/tickets/ESL-000001").text
    assert MASKED in page and "SMS gateway: rejected [phone]" in page and f'action="/mail/{row.id}/retry"' in page
    assert MASKED in ticket_page
    post(client, f"/mail/{row.id}/retry")
    flashed = client.get("/mail/failed").text
    assert f"Mail {row.id} to {MASKED} is back in the queue" in flashed
    logging_gateway = LoggingSmsSender()
    assert drain(bot, smtp, logging_gateway).sent == 1 and plain(logging_gateway.sent) == [(PHONE, "ESL-000001")]
    logged = " ".join(record.getMessage() for record in caplog.records)   # before the handlers' masking
    assert "SMS code for ESL-000001 due to " + MASKED in plain(logged)
    for text in (page, ticket_page, flashed, trail, logged, row.last_error):
        assert not any(spelling in text for spelling in SPELLINGS)


def test_without_an_sms_sender_the_code_fails_saying_so(engine, clock, tmp_path, smtp):
    app = make_app(engine, clock, tmp_path)
    Flow(app).send(NO_EMAIL_REQUEST)
    assert drain(app, smtp, None).failed == 1
    [row] = sms_rows(app)
    assert row.status == "failed" and row.last_error.startswith("no SMS sender configured ([verification] sms_sender)")


class AskedCopies:
    """A sent-copy folder that holds nothing and remembers what it was asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def find(self, message_ids):
        self.asked.extend(message_ids)
        return set()


def test_a_code_in_doubt_after_a_crash_is_sent_again_without_asking_the_sent_copy_folder(engine, clock, tmp_path,
                                                                                         smtp):
    app = make_app(engine, clock, tmp_path)
    Flow(app).send(NO_EMAIL_REQUEST)
    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none", from_address="support@esl.example")
    claimed = _claim(app.sessions, clock, settings, 10).rows      # "sending now" committed, then the process dies
    assert {row.kind for row in claimed} == {"ack", SMS_KIND}
    clock.advance(timedelta(seconds=121))                          # the claim lease ran out
    copies = AskedCopies()
    assert drain(app, smtp, app.sms, sent_copies=copies).sent == 2
    assert copies.asked == [next(r.message_id for r in claimed if r.kind == "ack")]   # mail only
    assert [plain(sent) for sent in app.sms.sent] == [(PHONE, "ESL-000001")]


def test_codes_to_one_phone_are_limited_per_hour_and_touch_no_mail_limit(engine, clock, tmp_path, smtp):
    app = make_app(engine, clock, tmp_path, loops={"per_address_per_hour": 1, "global_per_hour": 1})
    flow = Flow(app)
    flow.send(NO_EMAIL_REQUEST)
    flow.send(mail("other@example.org", "注销", "请注销账号，昵称：nomail", "<n2@x>"))   # the same phone named again
    assert len(sms_rows(app)) == 1
    assert (flow.ticket(2).verification, flow.ticket(2).waiting_on) == ("pending", None)   # staff decide
    assert [r.kind for r in flow.outbox() if r.ticket_id == 2] == ["ack"]   # its ack is not counted against the phone
    with Session(app.engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "mail.withheld"))
        withheld = [json.loads(e.detail) for e in events]
    assert withheld == [{"kind": SMS_KIND, "to": MASKED, "reason": withheld[0]["reason"]}]
    assert withheld[0]["reason"].startswith("per-address limit")
    report = drain(app, smtp, app.sms)
    assert (report.sent, report.delayed) == (2, 1)   # one ack and the code: the code uses no mail budget
    assert [plain(sent) for sent in app.sms.sent] == [(PHONE, "ESL-000001")]


def test_retention_empties_a_failed_code_of_a_long_completed_ticket(engine, clock, tmp_path, smtp):
    app = make_app(engine, clock, tmp_path)
    Flow(app).send(NO_EMAIL_REQUEST)
    drain(app, smtp, None)                                   # the code fails and keeps its parameters for a retry
    assert sms_rows(app)[0].raw
    with transaction(app.sessions) as session:
        mark_completed(session, session.get(Ticket, 1), app.settings, clock.now(), status="closed")
    clock.advance(timedelta(days=366))
    assert run_purge(app.sessions, clock.now(), 365).tickets[0].outbox >= 1
    assert sms_rows(app)[0].raw == b""


class BrokenGateway:
    """A gateway with a bug of its own: it raises something other than SmsError."""

    def send_code(self, phone_e164: str, code: str, reference: str) -> None:
        raise KeyError("template_id")


def test_a_gateway_raising_something_unexpected_is_retried_and_the_mail_behind_it_still_goes(
        engine, clock, tmp_path, smtp):
    app = make_app(engine, clock, tmp_path)
    Flow(app).send(NO_EMAIL_REQUEST)
    report = drain(app, smtp, BrokenGateway())
    [row] = sms_rows(app)
    assert row.status == "pending" and row.attempts == 1 and row.last_error == "SMS gateway failed: KeyError"
    assert report.sent >= 1 and smtp.received   # the acknowledgement queued with it was not held up
