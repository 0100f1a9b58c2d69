"""Mail the outbox gave up on (status "failed"): the list staff see, and putting one back in the queue."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, select

from bot.store import audit
from bot.store.models import OutboxMessage, Ticket
from bot.outbox.sms import shown_recipient
from bot.web.queries import named_page


class RetryRefused(ValueError):
    """The mail cannot go back in the queue (not failed any more, or its copy is gone)."""


def failed_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "failed")).one()


def failed_page(session: Session, page: int, page_size: int) -> tuple[list[dict], int, int, int]:
    """Failed mail, newest first, without its bytes: (rows, page, pages, total)."""
    columns = (OutboxMessage.id, OutboxMessage.created_at, OutboxMessage.kind, OutboxMessage.to_address,
               OutboxMessage.subject, OutboxMessage.attempts, OutboxMessage.last_error,
               func.length(OutboxMessage.raw), Ticket.reference)
    query = (select(*columns).join(Ticket, OutboxMessage.ticket_id == Ticket.id, isouter=True)
             .where(OutboxMessage.status == "failed").order_by(OutboxMessage.id.desc()))
    names = ("id", "created_at", "kind", "to", "subject", "attempts", "last_error", "size", "ticket")
    rows, page, pages, total = named_page(session, query, names, total=failed_count(session), page=page,
                                          page_size=page_size)
    for row in rows:
        row["to"] = shown_recipient(row["kind"], row["to"])   # a code by SMS: the phone masked
    return rows, page, pages, total


def requeue(session: Session, outbox_id: int, *, actor: str, now: datetime) -> OutboxMessage:
    """Back to "pending" with a fresh count of attempts, due now; the sender takes it from there."""
    row = session.get(OutboxMessage, outbox_id)
    if row is None or row.status != "failed":
        raise RetryRefused(f"mail {outbox_id} is not waiting for a retry" if row else f"no mail {outbox_id}")
    if not row.raw:
        raise RetryRefused(f"mail {outbox_id} can no longer be sent: its copy was purged under retention")
    previous = {"previous_attempts": row.attempts, "previous_error": row.last_error}
    # Conditional, so two staff clicking at once requeue it once.
    changed = session.exec(update(OutboxMessage).where(OutboxMessage.id == outbox_id,
                                                       OutboxMessage.status == "failed")
                           .values(status="pending", attempts=0, next_attempt_at=now, last_error=None,
                                   claim_token=None, send_started_at=None)
                           .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise RetryRefused(f"mail {outbox_id} is not waiting for a retry")
    audit.record(session, now, "mail.retry", ticket_id=row.ticket_id, actor=actor, outbox_id=row.id,
                 kind=row.kind, **previous)
    return row


def requeue_all(session: Session, *, actor: str, now: datetime) -> tuple[int, int]:
    """Every failed mail whose copy is kept back in the queue: (requeued, left because purged)."""
    ids = session.exec(select(OutboxMessage.id).where(OutboxMessage.status == "failed")
                       .order_by(OutboxMessage.id)).all()
    done = left = 0
    for outbox_id in ids:
        try:
            requeue(session, outbox_id, actor=actor, now=now)
            done += 1
        except RetryRefused:
            left += 1
    return done, left
