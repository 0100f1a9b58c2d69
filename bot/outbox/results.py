"""Sends one claimed outbox row (mail by SMTP, a code by SMS) and records what became of it."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, bindparam, select, update

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
_OUTBOX = OutboxMessage.__table__

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
    row: Row                      # as claimed (bot.outbox.sender), read only
    outcome: str                  # sent | settled | temporary | permanent | delay | release
    error: str = ""


async def send(row: Row, sink: MailSink, smtp: SmtpSettings, sms: SmsSender | None = None) -> Result:
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


async def send_sms(row: Row, sms: SmsSender | None, smtp: SmtpSettings) -> Result:
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
    """One transaction for a group of results, a statement for each kind of outcome; a row whose
    claim was taken over is left alone."""
    if not results:
        return
    now = clock.now()
    with transaction(sessions) as session:
        take_write_lock(session)   # no other sender may take a row over between this read and the writes
        connection = session.connection()
        held = set(connection.scalars(select(_OUTBOX.c.id).where(
            _OUTBOX.c.id.in_([r.row.id for r in results]), _OUTBOX.c.claim_token == token,
            _OUTBOX.c.status == "sending").with_for_update()))
        changes: dict[object, list[dict]] = {}
        for result in results:
            if result.row.id not in held:
                log.warning("outbox %s: claim lost before its result was recorded", result.row.id)
                continue
            statement, values = outcome(session, result, now, smtp, report)
            changes.setdefault(statement, []).append({"row_id": result.row.id, **values})
        for statement, rows in changes.items():
            connection.execute(statement, rows)


def _change(**values: object):
    """An UPDATE of one claimed row (bound as row_id), giving the claim up."""
    return update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id")).values(claim_token=None, **values)


_SENT = _change(status="sent", sent_at=bindparam("now"), last_error=None,
                attempts=_OUTBOX.c.attempts + bindparam("tries"))   # tries: 0 when settled, sent by no one now
_SENT_CODE = _SENT.values(raw=b"")   # a code's copy is not kept once it is delivered
_GIVEN_BACK = _change(status="pending", send_started_at=None, next_attempt_at=bindparam("due"))
_FAILED = _change(status="failed", send_started_at=None, attempts=_OUTBOX.c.attempts + 1, last_error=bindparam("error"))
_DEFERRED = _change(status="pending", send_started_at=None, attempts=_OUTBOX.c.attempts + 1,
                    last_error=bindparam("error"), next_attempt_at=bindparam("due"))


def outcome(session, result: Result, now: datetime, smtp: SmtpSettings, report: SendReport) -> tuple[object, dict]:
    """The statement recording what became of a held row, its values, and its audit event."""
    row = result.row
    if result.outcome in ("sent", "settled"):
        evidence = {"confirmed_by": "sent-copy"} if result.outcome == "settled" else {}
        audit.record(session, now, "mail.sent", ticket_id=row.ticket_id, outbox_id=row.id,
                     kind=row.kind, message_id=row.message_id, **evidence)
        report.sent += result.outcome == "sent"
        report.settled += result.outcome == "settled"
        return (_SENT_CODE if row.kind in CODE_KINDS else _SENT), {"now": now, "tries": int(result.outcome == "sent")}
    if result.outcome in ("delay", "release"):   # not sent: nothing is in doubt
        if result.outcome == "delay" and report.delayed == 0:
            log.warning("global limit on automatic mail reached: further automatic mail waits")
        report.delayed += result.outcome == "delay"
        return _GIVEN_BACK, {"due": now + (GLOBAL_LIMIT_PAUSE if result.outcome == "delay" else timedelta(0))}
    attempts = row.attempts + 1   # the row was held, so no one else tried it since it was claimed
    if result.outcome == "permanent" or attempts >= smtp.max_attempts:
        audit.record(session, now, "mail.failed", ticket_id=row.ticket_id, outbox_id=row.id,
                     kind=row.kind, attempts=attempts, error=result.error)
        log.warning("outbox %s: gave up after %s attempts", row.id, attempts)
        report.failed += 1
        return _FAILED, {"error": result.error}
    log.info("outbox %s: deferred (%s)", row.id, result.error[:120])
    report.deferred += 1
    return _DEFERRED, {"error": result.error, "due": now + backoff(attempts, smtp.retry_base_seconds)}
