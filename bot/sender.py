"""Drains the outbox: claims committed rows, sends them, records the result exactly once."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import or_, select

from bot import audit
from bot.clock import Clock
from bot.config import SmtpSettings
from bot.db import SessionFactory, transaction
from bot.mail.sink import MailSink, PermanentFailure, TemporaryFailure
from bot.models import OutboxMessage

log = logging.getLogger(__name__)

# A claimed row whose sender died is taken up again after this long.
CLAIM_LEASE = timedelta(minutes=2)


@dataclass
class SendReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0


def backoff(attempts: int, base_seconds: int) -> timedelta:
    return timedelta(seconds=min(base_seconds * 2 ** (attempts - 1), 6 * 3600))


def _claim(sessions: SessionFactory, clock: Clock, limit: int) -> list[OutboxMessage]:
    now = clock.now()
    with transaction(sessions) as session:
        due = (OutboxMessage.next_attempt_at <= now) & or_(
            OutboxMessage.status == "pending", OutboxMessage.status == "sending")
        query = select(OutboxMessage).where(due).order_by(OutboxMessage.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)  # several workers never take one row
        rows = list(session.exec(query))
        for row in rows:
            row.status, row.next_attempt_at = "sending", now + CLAIM_LEASE
        return rows


async def drain_outbox(sessions: SessionFactory, sink: MailSink, clock: Clock, smtp: SmtpSettings,
                       *, batch: int = 50) -> SendReport:
    """Send everything due now; returns when nothing due is left (deferred rows wait)."""
    report = SendReport()
    while rows := _claim(sessions, clock, batch):
        for row in rows:
            await _send_one(row, sessions, sink, clock, smtp, report)
    return report


async def _send_one(row: OutboxMessage, sessions: SessionFactory, sink: MailSink, clock: Clock,
                    smtp: SmtpSettings, report: SendReport) -> None:
    error, permanent = None, False
    try:
        await sink.send(row.raw, sender=smtp.from_address, recipients=[row.to_address])
    except TemporaryFailure as exc:
        error = str(exc)
    except PermanentFailure as exc:
        error, permanent = str(exc), True
    with transaction(sessions) as session:
        fresh = session.get(OutboxMessage, row.id)
        now = clock.now()
        fresh.attempts += 1
        if error is None:
            fresh.status, fresh.sent_at, fresh.last_error = "sent", now, None
            if fresh.kind == "challenge":
                fresh.raw = b""  # it carried a one-time code: keep no copy once delivered
            audit.record(session, now, "mail.sent", ticket_id=fresh.ticket_id, outbox_id=fresh.id,
                         kind=fresh.kind, message_id=fresh.message_id)
            report.sent += 1
        elif permanent or fresh.attempts >= smtp.max_attempts:
            fresh.status, fresh.last_error = "failed", error[:500]
            audit.record(session, now, "mail.failed", ticket_id=fresh.ticket_id, outbox_id=fresh.id,
                         kind=fresh.kind, attempts=fresh.attempts, error=error[:500])
            log.warning("outbox %s: gave up after %s attempts", fresh.id, fresh.attempts)
            report.failed += 1
        else:
            fresh.status, fresh.last_error = "pending", error[:500]
            fresh.next_attempt_at = now + backoff(fresh.attempts, smtp.retry_base_seconds)
            log.info("outbox %s: deferred (%s)", fresh.id, error[:120])
            report.deferred += 1
