"""Drains the outbox: claims committed rows, sends them, records each result exactly once."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import or_, select

from bot import audit
from bot.clock import Clock
from bot.config import SmtpSettings
from bot.db import SessionFactory, transaction
from bot.loops import AUTOMATIC_KINDS, sending_budget, window_start
from bot.mail.sent_copies import SentCopies
from bot.mail.sink import MailSink, PermanentFailure, TemporaryFailure
from bot.models import OutboxMessage

log = logging.getLogger(__name__)

# Automatic mail held back by the global hourly limit is looked at again after this long.
GLOBAL_LIMIT_PAUSE = timedelta(minutes=5)


@dataclass
class SendReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    settled: int = 0      # in-doubt mail found already delivered, so not sent again
    delayed: int = 0      # automatic mail held back by the global hourly limit


def backoff(attempts: int, base_seconds: int) -> timedelta:
    return timedelta(seconds=min(base_seconds * 2 ** (attempts - 1), 6 * 3600))


def _claim(sessions: SessionFactory, clock: Clock, smtp: SmtpSettings, limit: int) -> tuple[str, list[OutboxMessage]]:
    """Take up to `limit` due rows: pending ones, and "sending" ones whose claim lease ran out."""
    now, token = clock.now(), uuid.uuid4().hex
    with transaction(sessions) as session:
        due = (OutboxMessage.next_attempt_at <= now) & or_(
            OutboxMessage.status == "pending", OutboxMessage.status == "sending")
        query = select(OutboxMessage).where(due).order_by(OutboxMessage.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)  # several workers never take one row
        rows = list(session.exec(query))
        for row in rows:
            row.status, row.claim_token = "sending", token
            row.next_attempt_at = now + timedelta(seconds=smtp.claim_lease_seconds)
        return token, rows


def _start(sessions: SessionFactory, clock: Clock, smtp: SmtpSettings, row: OutboxMessage, token: str) -> bool:
    """Commit "sending now" before the SMTP transaction; False when the claim was lost meanwhile."""
    now = clock.now()
    with transaction(sessions) as session:
        result = session.exec(update(OutboxMessage).where(
            OutboxMessage.id == row.id, OutboxMessage.claim_token == token, OutboxMessage.status == "sending",
        ).values(send_started_at=now, next_attempt_at=now + timedelta(seconds=smtp.claim_lease_seconds)))
        return result.rowcount == 1


async def drain_outbox(sessions: SessionFactory, sink: MailSink, clock: Clock, smtp: SmtpSettings,
                       *, batch: int = 50, sent_copies: SentCopies | None = None,
                       global_per_hour: int | None = None) -> SendReport:
    """Send everything due now; returns when nothing due is left (deferred rows wait).

    With `global_per_hour`, automatic mail (bot.loops) beyond that many sent in the last hour
    waits for a later drain.

    A row whose earlier sending was cut off (the process died after starting the SMTP transaction)
    is "in doubt": with `sent_copies` it is looked up among the copies of what we sent and only
    sent again if absent; without, it is sent again (at least once)."""
    report = SendReport()
    budget = None if global_per_hour is None else sending_budget(
        sent_recently=_automatic_sent_recently(sessions, clock), global_per_hour=global_per_hour)
    try:
        while True:
            token, rows = _claim(sessions, clock, smtp, batch)
            if not rows:
                break
            in_doubt = [row.message_id for row in rows if row.send_started_at is not None]
            delivered = await sent_copies.find(in_doubt) if sent_copies and in_doubt else set()
            for row in rows:
                if budget is not None and row.kind in AUTOMATIC_KINDS and row.message_id not in delivered:
                    if budget <= 0:
                        _delay(sessions, clock, row, token, report)
                        continue
                    budget -= 1
                if row.message_id in delivered:
                    _settle(sessions, clock, row, token, report)
                elif _start(sessions, clock, smtp, row, token):
                    if row.send_started_at is not None:
                        log.warning("outbox %s: sending again after an interrupted attempt", row.id)
                    await _send_one(row, token, sessions, sink, clock, smtp, report)
    finally:
        close = getattr(sink, "close", None)
        if close is not None:
            await close()
    return report


def _automatic_sent_recently(sessions: SessionFactory, clock: Clock) -> int:
    with transaction(sessions, commit=False) as session:
        return session.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind.in_(AUTOMATIC_KINDS), OutboxMessage.sent_at > window_start(clock.now()))).one()


def _delay(sessions: SessionFactory, clock: Clock, row: OutboxMessage, token: str, report: SendReport) -> None:
    """Over the global hourly limit: back to pending, due again in a while; no attempt is counted."""
    with transaction(sessions) as session:
        session.exec(update(OutboxMessage).where(
            OutboxMessage.id == row.id, OutboxMessage.claim_token == token, OutboxMessage.status == "sending",
        ).values(status="pending", claim_token=None, next_attempt_at=clock.now() + GLOBAL_LIMIT_PAUSE))
    if report.delayed == 0:
        log.warning("global limit on automatic mail reached: further automatic mail waits")
    report.delayed += 1


def _settle(sessions: SessionFactory, clock: Clock, row: OutboxMessage, token: str, report: SendReport) -> None:
    with transaction(sessions) as session:
        fresh = session.get(OutboxMessage, row.id)
        if fresh.claim_token != token or fresh.status != "sending":
            return
        _mark_sent(session, fresh, clock, confirmed_by="sent-copy")
    report.settled += 1


def _mark_sent(session, row: OutboxMessage, clock: Clock, **evidence) -> None:
    now = clock.now()
    row.status, row.sent_at, row.last_error = "sent", now, None
    if row.kind == "challenge":
        row.raw = b""  # it carried a one-time code: keep no copy once delivered
    audit.record(session, now, "mail.sent", ticket_id=row.ticket_id, outbox_id=row.id,
                 kind=row.kind, message_id=row.message_id, **evidence)


async def _send_one(row: OutboxMessage, token: str, sessions: SessionFactory, sink: MailSink, clock: Clock,
                    smtp: SmtpSettings, report: SendReport) -> None:
    error, permanent = None, False
    recipients = [row.to_address, *([smtp.sent_copy_bcc] if smtp.sent_copy_bcc else [])]
    try:
        await sink.send(row.raw, sender=smtp.from_address, recipients=recipients)
    except TemporaryFailure as exc:
        error = str(exc)
    except PermanentFailure as exc:
        error, permanent = str(exc), True
    with transaction(sessions) as session:
        fresh = session.get(OutboxMessage, row.id)
        now = clock.now()
        fresh.attempts += 1
        fresh.send_started_at = None
        if error is None:
            _mark_sent(session, fresh, clock)
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
