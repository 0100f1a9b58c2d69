"""Completed = delivered: a ticket's clock stops when the mail server accepts its approved reply."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot.store import audit
from bot.clock import Clock
from bot.store.db import SessionFactory, transaction
from bot.store.write_lock import take_write_lock
from bot.store.models import Draft, OutboxMessage, Ticket
from bot.sla.clock_rules import mark_completed

if TYPE_CHECKING:
    from bot.config import Settings

REPLYING = "replying"                 # approved and queued: still open, still on the clock
UNDELIVERED = "reply-undelivered"     # the server refused it for good: open again, for staff to act on


def reply_approved(ticket: Ticket) -> None:
    """The reply is approved but has not left: the ticket stays open until the server accepts it."""
    ticket.status = REPLYING


def _decided(session: Session, *, lock: bool) -> list[tuple[Ticket, OutboxMessage]]:
    """Tickets waiting on their reply whose latest approved one was now sent, or failed while queued."""
    query = (select(Ticket, OutboxMessage).join(Draft, Draft.ticket_id == Ticket.id)
             .join(OutboxMessage, OutboxMessage.id == Draft.outbox_id)
             .where(Ticket.status.in_((REPLYING, UNDELIVERED)), Draft.status == "approved")
             .order_by(Draft.id))
    if lock:
        query = query.with_for_update(of=Ticket)
    latest = {ticket.id: (ticket, row) for ticket, row in session.exec(query)}   # the last approval decides
    return [(ticket, row) for ticket, row in latest.values()
            if row.status == "sent" or (row.status == "failed" and ticket.status == REPLYING)]


def settle_replies(sessions: SessionFactory, settings: Settings, clock: Clock) -> int:
    """After a drain of the outbox: complete the tickets whose reply was accepted (at the time it was),
    reopen those whose reply failed for good. Returns how many changed."""
    with transaction(sessions, commit=False) as session:
        if not _decided(session, lock=False):   # the usual case: one cheap read, no write lock
            return 0
    with transaction(sessions) as session:
        take_write_lock(session)   # two processes settling at once: the second finds nothing left
        decided = _decided(session, lock=True)
        for ticket, row in decided:
            if row.status == "sent":
                mark_completed(session, ticket, settings, row.sent_at, actor="bot")
            else:
                ticket.status = UNDELIVERED
                session.add(ticket)
                audit.record(session, clock.now(), "ticket.reply_undelivered", ticket_id=ticket.id,
                             outbox_id=row.id, error=row.last_error)
        return len(decided)
