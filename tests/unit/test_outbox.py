"""The outbox against a real aiosmtplib client and a recording aiosmtpd server: once, retried, given up."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.config import SmtpSettings
from bot.db import session_factory
from bot.demo.smtp_recorder import RecordingSmtpServer
from bot.mail.sink import SmtpSink
from bot.models import AuditEvent, OutboxMessage, Ticket
from bot.outbox import queue_mail
from bot.sender import drain_outbox


@pytest.fixture
def smtp():
    with RecordingSmtpServer() as server:
        yield server


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
