"""The sender always makes progress: internationalised, unsafe and poisoned rows settle one by one,
and the shortest allowed claim lease still sends (real aiosmtplib client, aiosmtpd recorder)."""
from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.clock import SystemClock
from bot.config import SmtpSettings
from bot.store.db import session_factory
from bot.cli.demo.smtp_recorder import RecordingSmtpServer
from bot.mail.sink import SmtpSink
from bot.store.models import AuditEvent, OutboxMessage, Ticket
from bot.outbox.queue import queue_mail
from bot.outbox.sender import drain_outbox

IDN = "李华@example.cn"
SMUGGLER = '"a RCPT TO:<victim@evil.test> b"@attacker.test'


def _queue(engine, settings, clock, recipients: list[str]) -> None:
    with Session(engine) as s:
        ticket = Ticket(reference="ESL-000001", requester="a@example.org", received_at=clock.now(),
                        due_at=clock.now() + timedelta(days=15))
        s.add(ticket)
        s.flush()
        for n, to in enumerate(recipients):
            # kind "reply": a person's mail, which the per-address limits leave alone
            queue_mail(s, settings=settings, now=clock.now(), ticket=ticket, kind="reply", actor="staff:x",
                       to=to, subject="About your request", text=f"Hello {n}\n")
        s.commit()


def _settings(server, **overrides) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=server.port, security="none", from_address="support@esl.example",
                        **overrides)


def _drain(engine, server, clock, sink=None, **overrides):
    smtp = _settings(server, **overrides)
    done: list = []
    # A livelocked sender spins without ever awaiting: only a thread of its own can be given up on.
    worker = threading.Thread(daemon=True, target=lambda: done.append(asyncio.run(
        drain_outbox(session_factory(engine), sink or SmtpSink(smtp), clock, smtp))))
    worker.start()
    worker.join(30)
    assert done, "the sender did not finish within 30 s"
    return done[0]


def _rows(engine) -> dict[str, OutboxMessage]:
    with Session(engine) as s:
        return {row.to_address: row for row in s.exec(select(OutboxMessage))}


def test_an_internationalised_address_goes_with_smtputf8(engine, settings, clock, smtp):
    _queue(engine, settings, clock, ["one@example.org", IDN, "two@example.org"])
    assert _drain(engine, smtp, clock).sent == 3
    assert [m.recipients for m in smtp.received] == [["one@example.org"], [IDN], ["two@example.org"]]
    assert smtp.received[1].message["To"] == IDN       # the header too, in UTF-8, not mangled
    assert {row.status for row in _rows(engine).values()} == {"sent"}


def test_without_smtputf8_only_that_row_fails_for_good_with_a_clear_reason(engine, settings, clock):
    _queue(engine, settings, clock, ["one@example.org", IDN, "two@example.org"])
    with RecordingSmtpServer(smtputf8=False) as server:
        report = _drain(engine, server, clock)
        assert (report.sent, report.failed, report.deferred) == (2, 1, 0)
        assert [m.recipients for m in server.received] == [["one@example.org"], ["two@example.org"]]
        clock.advance(timedelta(hours=1))
        assert _drain(engine, server, clock).sent == 0       # nothing is sent again, nothing waits
        assert len(server.received) == 2
    rows = _rows(engine)
    assert rows[IDN].status == "failed" and "SMTPUTF8" in rows[IDN].last_error
    assert [row.status for row in rows.values()].count("sent") == 2


def test_an_address_unsafe_on_an_smtp_command_line_is_never_sent_to(engine, settings, clock, smtp):
    _queue(engine, settings, clock, [SMUGGLER, "one@example.org"])
    report = _drain(engine, smtp, clock)
    assert (report.sent, report.failed) == (1, 1)
    assert [m.recipients for m in smtp.received] == [["one@example.org"]]
    row = _rows(engine)[SMUGGLER]
    assert row.status == "failed" and "quoted" in row.last_error
    with Session(engine) as s:
        failed = s.exec(select(AuditEvent).where(AuditEvent.action == "mail.failed")).one()
    assert failed.ticket_id == row.ticket_id and "quoted" in failed.detail   # on the ticket's trail, for staff


def test_the_shortest_allowed_claim_lease_still_sends_everything(engine, settings, smtp):
    clock = SystemClock()   # the real time moves on between claim and send, as in production
    _queue(engine, settings, clock, [f"user{n}@example.org" for n in range(5)])
    report = _drain(engine, smtp, clock, timeout_seconds=1, claim_lease_seconds=2 * 1 + 5)
    assert report.sent == 5
    assert len(smtp.received) == 5


class FaultySink(SmtpSink):
    """A real SMTP sink that trips over one recipient with an error nobody planned for."""

    async def send(self, raw, *, sender, recipients):
        if "poison@example.org" in recipients:
            raise RuntimeError("unplanned")
        await super().send(raw, sender=sender, recipients=recipients)


def test_one_poisoned_row_among_good_ones_at_the_shortest_lease(engine, settings, smtp):
    clock = SystemClock()
    _queue(engine, settings, clock, ["one@example.org", "poison@example.org", IDN, "two@example.org"])
    smtp_settings = _settings(smtp, timeout_seconds=1, claim_lease_seconds=7)
    report = _drain(engine, smtp, clock, sink=FaultySink(smtp_settings), timeout_seconds=1, claim_lease_seconds=7)
    assert (report.sent, report.deferred) == (3, 1)
    assert sorted(r for m in smtp.received for r in m.recipients) == sorted(["one@example.org", IDN, "two@example.org"])
    rows = _rows(engine)
    poison = rows["poison@example.org"]
    assert poison.status == "pending" and poison.attempts == 1 and "RuntimeError" in poison.last_error
    assert poison.next_attempt_at.replace(tzinfo=None) > clock.now().replace(tzinfo=None)   # later, with backoff
    assert not [row for row in rows.values() if row.status == "sending"]


@pytest.mark.parametrize("lease", [4, 6])
def test_a_claim_lease_too_short_for_one_send_is_refused(lease):
    with pytest.raises(ValueError, match="claim_lease_seconds"):
        SmtpSettings(timeout_seconds=1, claim_lease_seconds=lease)
