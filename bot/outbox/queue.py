"""The outbox: mail is queued in the ticket's transaction and only sent after it commits (or withheld)."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import bindparam, insert, literal_column
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, func, select

from bot.store import audit
from bot.config import Settings
from bot.outbox.loops import AUTOMATIC_KINDS, is_automatic, window_start, withhold_reason
from bot.mail.compose import OutgoingMail, compose, new_message_id
from bot.store.models import OutboxMessage, SuppressedAddress, Ticket
from bot.store.rows import new_row

log = logging.getLogger(__name__)


def queue_mail(
    session: Session,
    *,
    settings: Settings,
    now: datetime,
    ticket: Ticket | None,
    kind: str,
    to: str,
    subject: str,
    text: str,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    auto_submitted: str | None = "auto-replied",
    actor: str = "bot",
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    html: str | None = None,
    about: tuple[int, ...] = (),
) -> OutboxMessage | None:
    """Add one outgoing mail to the session; the sender picks it up once this commits.

    `ticket` is None for mail about many tickets (reminders, digests), listed in `about`.
    Automatic mail (bot.outbox.loops) over the per-address limit, or to a suppressed address, is not queued:
    None is returned and a "mail.withheld" event says why."""
    limit = None
    if is_automatic(kind, actor):
        to = to.strip().lower()  # the form the limits and the suppression list count by
        limit = settings.loops.per_address_per_hour
    smtp = settings.smtp
    message_id = new_message_id(smtp.from_address)
    if ticket is not None and ticket.reference not in subject:
        subject = f"[{ticket.reference}] {subject}"  # every mail about a ticket carries its reference
    raw = compose(OutgoingMail(
        from_address=smtp.from_address, from_name=smtp.from_name, to=to, subject=subject, text=text,
        message_id=message_id, date=now, in_reply_to=in_reply_to, references=references,
        auto_submitted=auto_submitted, kind=kind, attachments=attachments, html=html,
    ))
    ticket_id = ticket.id if ticket is not None else None
    row = add_row(session, ticket_id=ticket_id, kind=kind, to_address=to, subject=subject, message_id=message_id,
                  raw=raw, now=now, unless_over=limit)
    if row is None:   # withheld: the facts are read again, only now, to say why
        reason = _withhold_reason(session, limit, now, to) or "suppressed or over the limit while it was queued"
        audit.record(session, now, "mail.withheld", ticket_id=ticket_id, actor=actor, kind=kind, to=to,
                     reason=reason)
        log.warning("automatic %s mail withheld: %s", kind, reason)  # the reason names no address
        return None
    audit.record(session, now, "mail.queued", ticket_id=ticket_id, actor=actor, kind=kind, outbox_id=row.id,
                 message_id=message_id, **({"to": to, "tickets": list(about[:200])} if about else {}))
    return row


_OUTBOX = OutboxMessage.__table__
_INSERT = insert(_OUTBOX)
# The kinds written into the statement: an IN list of parameters is rebuilt at every execution.
_AUTOMATIC = _OUTBOX.c.kind.in_([literal_column(f"'{kind}'") for kind in AUTOMATIC_KINDS])
_recent_to_address = select(func.count()).select_from(_OUTBOX).where(
    _AUTOMATIC, _OUTBOX.c.created_at > bindparam("since"),
    _OUTBOX.c.to_address == bindparam("address")).scalar_subquery()
_suppressed = select(SuppressedAddress.reason).where(SuppressedAddress.address == bindparam("address"))
# Automatic mail: the row is written only if loop protection lets it go, the check and the write
# one statement (#16: a query before each INSERT cost as much as the INSERT). Built once.
_ROW_COLUMNS = [column for column in _OUTBOX.c if column.name != "id"]
_INSERT_UNLESS_WITHHELD = insert(_OUTBOX).from_select(
    [column.name for column in _ROW_COLUMNS],
    select(*(bindparam(column.name, type_=column.type) for column in _ROW_COLUMNS)).where(
        ~_suppressed.exists(), _recent_to_address < bindparam("limit")),
).returning(_OUTBOX.c.id)


def add_row(session: Session, *, now: datetime, unless_over: int | None = None,
            **values: object) -> OutboxMessage | None:
    """Insert one pending outbox row at once, in the session's transaction; return it detached, every
    column loaded (to change it, load it). One INSERT, without flushing the rest of the session: the
    rows an hourly limit counts are in the database as soon as they are queued.

    With `unless_over`, nothing is written (None is returned) if the address is suppressed or has
    that many automatic mails queued to it within the last hour (bot.outbox.loops)."""
    values.update(status="pending", attempts=0, next_attempt_at=now, created_at=now, last_error=None, sent_at=None,
                  claim_token=None, send_started_at=None)
    connection = session.connection()
    if unless_over is None:
        values["id"] = connection.execute(_INSERT, values).inserted_primary_key[0]
    else:
        row_id = connection.execute(_INSERT_UNLESS_WITHHELD, {
            **values, "address": values["to_address"], "since": window_start(now), "limit": unless_over,
        }).scalar()
        if row_id is None:
            return None
        values["id"] = row_id
    # Not added to the session: a savepoint rolled back would leave it there, a stale twin of the next row.
    row = new_row(OutboxMessage, **values)
    make_transient_to_detached(row)
    return row


# Both facts in one round trip, the statement built once; read only for mail that was withheld.
_WITHHOLD_FACTS = select(_suppressed.scalar_subquery(), _recent_to_address)


def _withhold_reason(session: Session, limit: int, now: datetime, address: str) -> str | None:
    # On the session's connection, so without autoflush: what this counts is already in the database
    # (add_row inserts each row at once; suppress() flushes).
    reason, count = session.connection().execute(
        _WITHHOLD_FACTS, {"address": address, "since": window_start(now)}).one()
    return withhold_reason(suppressed=reason, to_address_recently=count, per_address_per_hour=limit)


def waiting_mail(session: Session) -> tuple[int, int]:
    """Mail still waiting in the outbox: (automatic mail never tried, held by the hourly limit or not
    yet due; mail to retry after a temporary failure)."""
    pending = (OutboxMessage.status == "pending")
    held = session.exec(select(func.count()).select_from(OutboxMessage).where(
        pending, OutboxMessage.attempts == 0, OutboxMessage.kind.in_(AUTOMATIC_KINDS))).one()
    retrying = session.exec(select(func.count()).select_from(OutboxMessage).where(
        pending, OutboxMessage.attempts > 0)).one()
    return held, retrying
