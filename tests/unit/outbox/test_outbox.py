"""The outbox against a real aiosmtplib client and a recording aiosmtpd server: once, retried, given up."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.config import SmtpSettings
from bot.store.db import session_factory
from bot.cli.demo.smtp_recorder import RecordingSmtpServer
from bot.mail.sink import SmtpSink
from bot.store.models import AuditEvent, OutboxMessage, Ticket
from bot.outbox.queue import queue_mail
from bot.outbox.sender import drain_outbox


def _queue(engine, settings, clock, n=2):
    with Session(engine) as s:
        ticket = Ticket(reference="ESL-000001", requester="a@example.org", received_at=clock.now(),
                        due_at=clock.now() + timedelta(days=15))
        s.add(ticket)
        s.flush()
        for i in range(n):
            queue_mail(s, settings=settings, now=clock.now(), ticket=ticket, kind="ack",
                       to=f"user{i}@example.org", subject="We have your request", text=f"Hello {i}\n")
        s.commit()


def _send(engine, smtp, clock, **overrides):
    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none",
                            from_address="support@esl.example", **overrides)
    return asyncio.run(drain_outbox(session_factory(engine), SmtpSink(settings), clock, settings))


def test_each_mail_is_sent_once_with_reference_and_headers(engine, settings, clock, smtp):
    _queue(engine, settings, clock)
    assert _send(engine, smtp, clock).sent == 2
    assert _send(engine, smtp, clock).sent == 0
    got = smtp.received
    assert sorted(r for m in got for r in m.recipients) == ["user0@example.org", "user1@example.org"]
    msg = got[0].message
    assert msg["Subject"].startswith("[ESL-000001]") and msg["Message-ID"] and msg["Auto-Submitted"]
    with Session(engine) as s:
        assert all(row.status == "sent" for row in s.exec(select(OutboxMessage)))
        assert {row.message_id for row in s.exec(select(OutboxMessage))} == {m.message["Message-ID"] for m in got}


def test_temporary_failure_is_retried_with_backoff(engine, settings, clock, smtp):
    _queue(engine, settings, clock, n=1)
    smtp.fail("451 4.3.0 try later", count=2)
    assert _send(engine, smtp, clock).deferred == 1
    assert _send(engine, smtp, clock).deferred == 0  # not due yet: backoff
    clock.advance(timedelta(seconds=31))
    assert _send(engine, smtp, clock).deferred == 1
    clock.advance(timedelta(seconds=61))
    assert _send(engine, smtp, clock).sent == 1
    assert len(smtp.received) == 1


def test_gives_up_after_max_attempts_and_on_permanent_failure(engine, settings, clock, smtp):
    _queue(engine, settings, clock, n=2)
    smtp.fail("550 5.1.1 no such user", count=1)
    report = _send(engine, smtp, clock, max_attempts=3)
    assert (report.failed, report.sent) == (1, 1)
    with Session(engine) as s:
        failed = s.exec(select(AuditEvent).where(AuditEvent.action == "mail.failed")).one()
    assert "550" in failed.detail


def test_server_down_means_deferred_not_lost(engine, settings, clock):
    _queue(engine, settings, clock, n=1)
    server = RecordingSmtpServer().start()
    port = server.port
    server.stop()
    settings_down = SmtpSettings(host="127.0.0.1", port=port, security="none", timeout_seconds=2)
    report = asyncio.run(drain_outbox(session_factory(engine), SmtpSink(settings_down), clock, settings_down))
    assert report.deferred == 1
    with Session(engine) as s:
        assert s.exec(select(OutboxMessage)).one().status == "pending"


def test_a_sent_code_mail_keeps_no_copy(engine, settings, clock, smtp):
    with Session(engine) as s:
        ticket = Ticket(reference="ESL-000009", requester="a@example.org", received_at=clock.now(),
                        due_at=clock.now() + timedelta(days=15))
        s.add(ticket)
        s.flush()
        queue_mail(s, settings=settings, now=clock.now(), ticket=ticket, kind="challenge",
                   to="a@example.org", subject="Your code", text="Your code is 1234-5678\n")
        s.commit()
    assert _send(engine, smtp, clock).sent == 1
    assert b"1234-5678" in smtp.received[0].raw
    with Session(engine) as s:
        assert s.exec(select(OutboxMessage)).one().raw == b""


# A crash inside the SMTP transaction: the sender committed "sending now", then died.

class RecorderCopies:
    """The recording server's log as the sent-copy folder: what it accepted, by Message-ID."""

    def __init__(self, server):
        self.server, self.asked = server, []

    async def find(self, message_ids):
        self.asked.extend(message_ids)
        have = {m.message["Message-ID"] for m in self.server.received}
        return {mid for mid in message_ids if mid in have}


def _die_mid_send(engine, smtp, clock, *, accepted: bool):
    """Claim one row like the sender does, deliver it or not, then "crash" before recording."""
    from bot.outbox.sender import _claim
    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none", from_address="support@esl.example")
    row = _claim(session_factory(engine), clock, settings, 1).rows[0]
    if accepted:
        asyncio.run(SmtpSink(settings).send(row.raw, sender=settings.from_address, recipients=[row.to_address]))
    return row


def _send_with(engine, smtp, clock, copies):
    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none", from_address="support@esl.example")
    return asyncio.run(drain_outbox(session_factory(engine), SmtpSink(settings), clock, settings, sent_copies=copies))


@pytest.mark.parametrize("accepted", [True, False])
def test_mail_in_doubt_is_settled_by_its_sent_copy_never_doubled_never_lost(engine, settings, clock, smtp, accepted):
    _queue(engine, settings, clock, n=1)
    row = _die_mid_send(engine, smtp, clock, accepted=accepted)
    copies = RecorderCopies(smtp)
    assert _send_with(engine, smtp, clock, copies).sent == 0      # the claim lease still holds it
    clock.advance(timedelta(seconds=121))
    report = _send_with(engine, smtp, clock, copies)
    assert copies.asked == [row.message_id]
    assert (report.settled, report.sent) == ((1, 0) if accepted else (0, 1))
    assert [m.message["Message-ID"] for m in smtp.received] == [row.message_id]
    with Session(engine) as s:
        assert s.get(OutboxMessage, row.id).status == "sent"
        sent_events = s.exec(select(AuditEvent).where(AuditEvent.action == "mail.sent")).all()
    assert len(sent_events) == 1 and ("sent-copy" in sent_events[0].detail) == accepted


def test_without_a_sent_copy_folder_mail_in_doubt_goes_again(engine, settings, clock, smtp):
    _queue(engine, settings, clock, n=1)
    row = _die_mid_send(engine, smtp, clock, accepted=True)
    clock.advance(timedelta(seconds=121))
    assert _send_with(engine, smtp, clock, None).sent == 1
    assert [m.message["Message-ID"] for m in smtp.received] == [row.message_id] * 2   # at least once


class SlowSink(SmtpSink):
    """A real SMTP sink on a server so slow that each mail takes a minute of the sender's lease."""

    def __init__(self, settings, clock):
        super().__init__(settings)
        self.fake_clock = clock

    async def send(self, raw, *, sender, recipients):
        await super().send(raw, sender=sender, recipients=recipients)
        self.fake_clock.advance(timedelta(seconds=60))


def test_a_sender_starts_nothing_its_lease_may_not_cover_and_claims_it_afresh(engine, settings, clock, smtp):
    _queue(engine, settings, clock, n=3)
    start = clock.now()
    smtp_settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none", timeout_seconds=20,
                                 claim_lease_seconds=120)
    report = asyncio.run(drain_outbox(session_factory(engine), SlowSink(smtp_settings, clock), clock, smtp_settings))
    assert report.sent == 3
    assert len({m.message["Message-ID"] for m in smtp.received}) == len(smtp.received) == 3
    # 120 s lease, 2 * 20 + 5 s kept for one transaction: under the first claim mails may start
    # until 75 s; the third (due to start at 120 s) was given back and claimed again then.
    with Session(engine) as s:
        started = [row.send_started_at - start for row in s.exec(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert started == [timedelta(0), timedelta(0), timedelta(seconds=120)]


def test_the_claim_lease_must_outlast_a_send():
    with pytest.raises(ValueError, match="claim_lease_seconds"):
        SmtpSettings(timeout_seconds=60, claim_lease_seconds=100)


def test_mail_in_doubt_found_delivered_is_settled_even_when_the_lease_runs_out(engine, settings, clock, smtp):
    """Three rows in doubt after a crash, the last already delivered: the first two sends take the rest
    of the lease. The last must be settled by its copy, not given back untried: given back it would
    no longer be in doubt, and the next claim would send it a second time."""
    from bot.outbox.sender import _claim
    _queue(engine, settings, clock, n=3)
    smtp_settings = SmtpSettings(host="127.0.0.1", port=smtp.port, security="none", from_address="support@esl.example",
                                 timeout_seconds=20, claim_lease_seconds=120)
    first, other, second = _claim(session_factory(engine), clock, smtp_settings, 3).rows
    asyncio.run(SmtpSink(smtp_settings).send(second.raw, sender=smtp_settings.from_address,
                                             recipients=[second.to_address]))     # then the sender died
    clock.advance(timedelta(seconds=121))
    copies = RecorderCopies(smtp)
    for _ in range(3):
        asyncio.run(drain_outbox(session_factory(engine), SlowSink(smtp_settings, clock), clock, smtp_settings,
                                 sent_copies=copies))
        clock.advance(timedelta(seconds=121))
    received = [m.message["Message-ID"] for m in smtp.received]
    assert sorted(received) == sorted([first.message_id, other.message_id, second.message_id])   # each once
