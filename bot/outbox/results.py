"""Sends one claimed outbox row (mail by SMTP, a code by SMS) and records what became of it."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select

from bot.store import audit
from bot.clock import Clock
from bot.config import SmtpSettings
from bot.store.db import SessionFactory, transaction
from bot.store.write_lock import take_write_lock
from bot.logs import redact
from bot.mail.addresses import unsafe_to_send
from bot.mail.sink import MailSink, PermanentFailure, TemporaryFailure
from bot.store.models import OutboxMessage
from bot.outbox.sms import CODE_KINDS, SMS_KIND, deliver

from bot.mail.sms import SmsError, SmsSender
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


@dataclass
class Result:
    row: OutboxMessage
    outcome: str                  # sent | settled | temporary | permanent | delay | release
    error: str = ""


async def send(row: OutboxMessage, sink: MailSink, smtp: SmtpSettings, sms: SmsSender | None = None) -> Result:
    if row.kind == SMS_KIND:
        return await send_sms(row, sms, smtp)
    if reason := unsafe_to_send(row.to_address):
        return Result(row, "permanent", reason)
    recipients = [row.to_address, *([smtp.sent_copy_bcc] if smtp.sent_copy_bcc else [])]
    try:
        await sink.send(row.raw, sender=smtp.from_address, recipients=recipients)
    except TemporaryFailure as exc:
        return Result(row, "temporary", str(exc)[:500])
    except PermanentFailure as exc:
        return Result(row, "permanent", str(exc)[:500])
    except Exception as exc:  # noqa: BLE001 - one row's surprise must not stop (or resend) the rows around it
        log.error("outbox %s: unexpected %s while sending; tried again later", row.id, type(exc).__name__)
        if (close := getattr(sink, "close", None)) is not None:
            await close()    # the connection may be mid-transaction: the next row starts afresh
        return Result(row, "temporary", f"unexpected error while sending: {type(exc).__name__}")
    return Result(row, "sent")


async def send_sms(row: OutboxMessage, sms: SmsSender | None, smtp: SmtpSettings) -> Result:
    """A code to the gateway; its failures are temporary (retried with backoff until max_attempts)."""
    if sms is None:
        return Result(row, "permanent", "no SMS sender configured ([verification] sms_sender): set one, then retry")
    try:
        # Bounded like an SMTP transaction, so the send ends within the claim's lease.
        await asyncio.wait_for(asyncio.to_thread(deliver, sms, row), timeout=smtp.timeout_seconds)
    except SmsError as exc:
        # Gateways like to quote the number: the error goes to logs, the audit trail and the console.
        return Result(row, "temporary", redact(f"SMS gateway: {exc}")[:500])
    except TimeoutError:
        return Result(row, "temporary", f"SMS gateway gave no answer within {smtp.timeout_seconds} s")
    except Exception as exc:  # noqa: BLE001 - a gateway's own bug must not stop the mail behind it
        log.exception("outbox %s: the SMS gateway failed unexpectedly", row.id)
        return Result(row, "temporary", f"SMS gateway failed: {type(exc).__name__}")
    return Result(row, "sent")


def record(sessions: SessionFactory, clock: Clock, smtp: SmtpSettings, token: str, results: list[Result],
            report: SendReport) -> None:
    """One transaction for a group of results; a row whose claim was taken over is left alone."""
    if not results:
        return
    now = clock.now()
    with transaction(sessions) as session:
        take_write_lock(session)   # no other sender may take a row over between this read and the writes
        held = {row.id: row for row in session.exec(select(OutboxMessage).where(
            OutboxMessage.id.in_([r.row.id for r in results]), OutboxMessage.claim_token == token,
            OutboxMessage.status == "sending").with_for_update())}
        for result in results:
            row = held.get(result.row.id)
            if row is None:
                log.warning("outbox %s: claim lost before its result was recorded", result.row.id)
                continue
            apply_result(session, row, result, now, smtp, report)


def apply_result(session, row: OutboxMessage, result: Result, now: datetime, smtp: SmtpSettings,
           report: SendReport) -> None:
    row.claim_token = None
    row.attempts += result.outcome in ("sent", "temporary", "permanent")   # SMTP transactions made
    if result.outcome in ("sent", "settled"):
        row.status, row.sent_at, row.last_error = "sent", now, None
        if row.kind in CODE_KINDS:
            row.raw = b""  # it carried a one-time code: keep no copy once delivered
        evidence = {"confirmed_by": "sent-copy"} if result.outcome == "settled" else {}
        audit.record(session, now, "mail.sent", ticket_id=row.ticket_id, outbox_id=row.id,
                     kind=row.kind, message_id=row.message_id, **evidence)
        report.sent += result.outcome == "sent"
        report.settled += result.outcome == "settled"
        return
    row.send_started_at = None      # not sent: nothing is in doubt
    if result.outcome in ("delay", "release"):
        row.status = "pending"
        row.next_attempt_at = now + (GLOBAL_LIMIT_PAUSE if result.outcome == "delay" else timedelta(0))
        if result.outcome == "delay":
            if report.delayed == 0:
                log.warning("global limit on automatic mail reached: further automatic mail waits")
            report.delayed += 1
        return
    if result.outcome == "permanent" or row.attempts >= smtp.max_attempts:
        row.status, row.last_error = "failed", result.error
        audit.record(session, now, "mail.failed", ticket_id=row.ticket_id, outbox_id=row.id,
                     kind=row.kind, attempts=row.attempts, error=result.error)
        log.warning("outbox %s: gave up after %s attempts", row.id, row.attempts)
        report.failed += 1
    else:
        row.status, row.last_error = "pending", result.error
        row.next_attempt_at = now + backoff(row.attempts, smtp.retry_base_seconds)
        log.info("outbox %s: deferred (%s)", row.id, result.error[:120])
        report.deferred += 1
