"""The retention rule: bodies of long-finished tickets' mail and drafts are emptied; the audit trail stays.

For a ticket completed (bot.store.sla_models.DONE_STATUSES, TicketSla.completed_at) more than `days`
ago: its incoming mail loses raw and new_text (purged_at set), our sent or failed mail about it
loses its stored copy (it quotes bodies and carries exports), its drafts lose their text and
their attachments their bytes. Mail with no ticket (machine mail, quarantine, staff reminders
and digests) goes `days` after it arrived or was queued. Rows, senders, subjects and dates stay,
so the ticket and its audit trail still read; each purge adds a "retention.purged" event with
counts only. `report` says what `purge` would do, changing nothing; running either twice is safe.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, update
from sqlmodel import Session, select

from bot.store import audit
from bot.store.db import SessionFactory, transaction
from bot.store.models import Draft, DraftAttachment, InboundMessage, OutboxMessage, Ticket
from bot.store.sla_models import DONE_STATUSES, TicketSla

# What still holds a body; the purge empties exactly these, so a second run finds nothing.
INBOUND_LEFT = InboundMessage.purged_at.is_(None)
OUTBOX_LEFT = OutboxMessage.status.in_(("sent", "failed")) & (func.length(OutboxMessage.raw) > 0)
DRAFT_LEFT = Draft.text != ""
ATTACHMENT_LEFT = func.length(DraftAttachment.data) > 0


@dataclass
class TicketPurge:
    ticket_id: int
    reference: str | None
    completed_at: datetime
    messages: int = 0
    outbox: int = 0
    drafts: int = 0
    attachments: int = 0

    def counts(self) -> dict[str, int]:
        return {"messages": self.messages, "outbox": self.outbox, "drafts": self.drafts,
                "attachments": self.attachments}


@dataclass
class PurgeReport:
    cutoff: datetime
    tickets: list[TicketPurge] = field(default_factory=list)
    loose_messages: int = 0     # incoming mail that belongs to no ticket
    loose_outbox: int = 0       # mail we sent about no ticket (reminders, digests)

    def totals(self) -> dict[str, int]:
        sums = {key: sum(t.counts()[key] for t in self.tickets) for key in ("messages", "outbox", "drafts",
                                                                             "attachments")}
        return {"tickets": len(self.tickets), **sums, "loose_messages": self.loose_messages,
                "loose_outbox": self.loose_outbox}

    @property
    def empty(self) -> bool:
        return not self.tickets and not self.loose_messages and not self.loose_outbox


def _ticket_has(model, left) -> object:
    return exists().where(model.ticket_id == Ticket.id, left)


def due_tickets(session: Session, cutoff: datetime, limit: int | None = None) -> list[TicketPurge]:
    """Finished tickets completed at or before `cutoff` that still hold something to purge."""
    attachment_left = exists().where(DraftAttachment.draft_id == Draft.id, Draft.ticket_id == Ticket.id,
                                     ATTACHMENT_LEFT)
    query = (select(Ticket.id, Ticket.reference, TicketSla.completed_at)
             .join(TicketSla, TicketSla.ticket_id == Ticket.id)
             .where(Ticket.status.in_(DONE_STATUSES), TicketSla.completed_at <= cutoff,
                    or_(_ticket_has(InboundMessage, INBOUND_LEFT), _ticket_has(OutboxMessage, OUTBOX_LEFT),
                        _ticket_has(Draft, DRAFT_LEFT), attachment_left))
             .order_by(Ticket.id).limit(limit))
    return [TicketPurge(ticket_id, reference, completed) for ticket_id, reference, completed in session.exec(query)]


def _count(session: Session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _loose(cutoff: datetime) -> tuple[tuple, tuple]:
    return ((InboundMessage.ticket_id.is_(None), InboundMessage.received_at <= cutoff, INBOUND_LEFT),
            (OutboxMessage.ticket_id.is_(None), OutboxMessage.created_at <= cutoff, OUTBOX_LEFT))


def report(session: Session, now: datetime, days: int) -> PurgeReport:
    """What a purge now would empty; changes nothing."""
    result = PurgeReport(cutoff=now - timedelta(days=days), tickets=due_tickets(session, now - timedelta(days=days)))
    for item in result.tickets:
        item.messages = _count(session, InboundMessage, InboundMessage.ticket_id == item.ticket_id, INBOUND_LEFT)
        item.outbox = _count(session, OutboxMessage, OutboxMessage.ticket_id == item.ticket_id, OUTBOX_LEFT)
        item.drafts = _count(session, Draft, Draft.ticket_id == item.ticket_id, DRAFT_LEFT)
        item.attachments = _count(session, DraftAttachment, DraftAttachment.draft_id.in_(
            select(Draft.id).where(Draft.ticket_id == item.ticket_id)), ATTACHMENT_LEFT)
    inbound, outbox = _loose(result.cutoff)
    result.loose_messages = _count(session, InboundMessage, *inbound)
    result.loose_outbox = _count(session, OutboxMessage, *outbox)
    return result


def _empty(session: Session, model, where: tuple, values: dict) -> int:
    return session.exec(update(model).where(*where).values(**values).execution_options(
        synchronize_session=False)).rowcount


def purge(session: Session, now: datetime, days: int, *, limit: int | None = None) -> PurgeReport:
    """Empty what `report` lists (up to `limit` tickets), auditing each ticket; counts are rows changed."""
    result = PurgeReport(cutoff=now - timedelta(days=days), tickets=due_tickets(session, now - timedelta(days=days),
                                                                                 limit))
    body_gone = {"raw": b"", "new_text": "", "purged_at": now}
    for item in result.tickets:
        drafts_of_ticket = select(Draft.id).where(Draft.ticket_id == item.ticket_id)
        item.messages = _empty(session, InboundMessage, (InboundMessage.ticket_id == item.ticket_id, INBOUND_LEFT),
                               body_gone)
        item.outbox = _empty(session, OutboxMessage, (OutboxMessage.ticket_id == item.ticket_id, OUTBOX_LEFT),
                             {"raw": b""})
        item.attachments = _empty(session, DraftAttachment, (DraftAttachment.draft_id.in_(drafts_of_ticket),
                                                             ATTACHMENT_LEFT), {"data": b""})
        item.drafts = _empty(session, Draft, (Draft.ticket_id == item.ticket_id, DRAFT_LEFT), {"text": ""})
        if any(item.counts().values()):   # a concurrent run may have done it first: then nothing to record
            audit.record(session, now, "retention.purged", ticket_id=item.ticket_id, days=days,
                         completed_at=item.completed_at, **item.counts())
    result.tickets = [item for item in result.tickets if any(item.counts().values())]
    inbound, outbox = _loose(result.cutoff)
    result.loose_messages = _empty(session, InboundMessage, inbound, body_gone)
    result.loose_outbox = _empty(session, OutboxMessage, outbox, {"raw": b""})
    if result.loose_messages or result.loose_outbox:
        audit.record(session, now, "retention.purged", days=days, without_ticket=True,
                     messages=result.loose_messages, outbox=result.loose_outbox)
    return result


def run_purge(sessions: SessionFactory, now: datetime, days: int, *, batch: int = 200) -> PurgeReport:
    """The whole purge, `batch` tickets per transaction, so a first run on a large backlog holds no long lock."""
    total = PurgeReport(cutoff=now - timedelta(days=days))
    while True:
        with transaction(sessions) as session:
            part = purge(session, now, days, limit=batch)
        total.tickets += part.tickets
        total.loose_messages += part.loose_messages
        total.loose_outbox += part.loose_outbox
        if not part.tickets:   # what a batch found it also emptied, so this ends
            return total
