"""Drains the outbox: claims committed rows, sends them (mail, or codes by SMS), records each result once."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, func, update
from sqlmodel import select

from bot.store import audit
from bot.clock import Clock
from bot.config import SmtpSettings
from bot.store.db import SessionFactory, transaction
from bot.store.write_lock import take_write_lock
from bot.outbox.loops import AUTOMATIC_KINDS, sending_budget, window_start
from bot.mail.sent_copies import SentCopies
from bot.mail.sink import MailSink
from bot.store.models import OutboxMessage, SuppressedAddress
from bot.outbox.results import Result, SendReport, record, send
from bot.outbox.sms import SMS_KIND

from bot.mail.sms import SmsSender
log = logging.getLogger(__name__)

# Results are committed every this many mails: after a crash at most this many are in doubt.
RESULT_GROUP = 10


@dataclass
class Claim:
    """Rows this sender holds (read only, as claimed); `in_doubt` were already being sent by a sender that died."""

    token: str
    rows: list[Row]
    in_doubt: list[str]
    last_start: datetime    # no SMTP transaction starts after this, so none outlives the lease


_OUTBOX = OutboxMessage.__table__
# What sending and recording need of a row: its columns but the subject and the timestamps of the past.
_CLAIMED = select(*(_OUTBOX.c[name] for name in ("id", "ticket_id", "kind", "to_address", "message_id", "raw",
                                                 "attempts", "created_at", "send_started_at")))


def _claim(sessions: SessionFactory, clock: Clock, smtp: SmtpSettings, limit: int) -> Claim:
    """Take up to `limit` due rows (pending ones, and "sending" ones whose lease ran out) and mark
    them "sending now" in the same commit: a crash from here on leaves them in doubt, never lost."""
    now, token = clock.now(), uuid.uuid4().hex
    lease = timedelta(seconds=smtp.claim_lease_seconds)
    with transaction(sessions) as session:
        take_write_lock(session)
        connection = session.connection()
        query = _CLAIMED.where(_OUTBOX.c.next_attempt_at <= now, _OUTBOX.c.status.in_(("pending", "sending"))
                               ).order_by(_OUTBOX.c.id).limit(limit)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)  # several workers never take one row
        rows = _drop_newly_suppressed(session, list(connection.execute(query)), now)
        if rows:
            connection.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_([row.id for row in rows])).values(
                status="sending", claim_token=token, send_started_at=now, next_attempt_at=now + lease))
    in_doubt = [row.message_id for row in rows if row.send_started_at is not None]
    return Claim(token, rows, in_doubt, now + lease - timedelta(seconds=smtp.send_seconds))


def _drop_newly_suppressed(session, rows: list[Row], now: datetime) -> list[Row]:
    """Automatic mail queued before its address was suppressed (e.g. it bounced meanwhile) is withheld.

    Mail queued after the suppression was queued knowingly, by a person (bot.outbox.loops), and goes."""
    automatic = {row.to_address for row in rows if row.kind in AUTOMATIC_KINDS}
    if not automatic:
        return rows
    since = dict(session.connection().execute(select(SuppressedAddress.address, SuppressedAddress.created_at).where(
        SuppressedAddress.address.in_(automatic))).all())
    kept, withheld = [], []
    for row in rows:
        if row.kind in AUTOMATIC_KINDS and row.to_address in since and row.created_at <= since[row.to_address]:
            withheld.append(row.id)
            audit.record(session, now, "mail.withheld", ticket_id=row.ticket_id, outbox_id=row.id, kind=row.kind,
                         to=row.to_address, reason="suppressed after it was queued")
        else:
            kept.append(row)
    if withheld:
        session.connection().execute(update(_OUTBOX).where(_OUTBOX.c.id.in_(withheld)).values(
            status="withheld", claim_token=None))
    return kept


async def drain_outbox(sessions: SessionFactory, sink: MailSink, clock: Clock, smtp: SmtpSettings,
                       *, batch: int = 50, sent_copies: SentCopies | None = None,
                       global_per_hour: int | None = None, sms: SmsSender | None = None) -> SendReport:
    """Send everything due now; returns when nothing due is left (deferred rows wait).

    With `global_per_hour`, automatic mail (bot.outbox.loops) beyond that many sent in the last hour
    waits for a later drain.

    A row whose earlier sending was cut off (the process died after claiming it) is "in doubt":
    with `sent_copies` it is looked up among the copies of what the server accepted and only sent
    again if absent; without, it is sent again (at least once). Results are recorded every
    RESULT_GROUP mails, which bounds how many can be in doubt after a crash.

    Codes by SMS (bot.outbox.sms) go to `sms`, the same way; without one they fail, for staff to see."""
    report = SendReport()
    budget = None if global_per_hour is None else sending_budget(
        sent_recently=_automatic_sent_recently(sessions, clock), global_per_hour=global_per_hour)
    try:
        while (claim := _claim(sessions, clock, smtp, batch)).rows:
            # An SMS leaves no copy in any folder: one in doubt is sent again (the same code, so the
            # requester may get it twice but never a void one).
            look_up = [row.message_id for row in claim.rows
                       if row.message_id in claim.in_doubt and row.kind != SMS_KIND]
            delivered = await sent_copies.find(look_up) if sent_copies and look_up else set()
            results: list[Result] = []
            started = False
            for row in claim.rows:
                # The first send of a claim always starts (the settings leave one send room in the
                # lease), so a claim makes progress even when the lease is at its shortest.
                if row.message_id in delivered:
                    # Settled whatever the time: given back untried it would lose its doubt and go twice.
                    results.append(Result(row, "settled"))
                elif started and clock.now() > claim.last_start:
                    results.append(Result(row, "release"))   # the lease runs out: give it back untried
                elif budget is not None and row.kind in AUTOMATIC_KINDS and budget <= 0:
                    results.append(Result(row, "delay"))
                else:
                    if budget is not None and row.kind in AUTOMATIC_KINDS:
                        budget -= 1
                    if row.message_id in claim.in_doubt:
                        log.warning("outbox %s: sending again after an interrupted attempt", row.id)
                    started = True
                    results.append(await send(row, sink, smtp, sms))
                if len(results) >= RESULT_GROUP:
                    record(sessions, clock, smtp, claim.token, results, report)
                    results = []
            record(sessions, clock, smtp, claim.token, results, report)
    finally:
        close = getattr(sink, "close", None)
        if close is not None:
            await close()
    return report


def _automatic_sent_recently(sessions: SessionFactory, clock: Clock) -> int:
    with transaction(sessions, commit=False) as session:
        return session.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind.in_(AUTOMATIC_KINDS), OutboxMessage.sent_at > window_start(clock.now()))).one()
