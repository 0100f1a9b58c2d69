"""Tickets: opening one for a new request, with a human reference and a due date."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from bot import audit
from bot.models import Ticket
from bot.sla import due_at

if TYPE_CHECKING:
    from bot.pipeline.context import MessageContext
    from bot.pipeline.runner import Pipeline


def format_reference(prefix: str, ticket_id: int) -> str:
    return f"{prefix}-{ticket_id:06d}"


def open_ticket(session: Session, ctx: MessageContext, deps: Pipeline) -> Ticket:
    settings, result, msg = deps.settings, ctx.classification, ctx.parsed
    ticket = Ticket(
        subject=msg.subject[:998],
        kind=result.kind,
        labels=",".join(result.labels),
        confidence=round(result.confidence, 4),
        needs_triage=result.confidence < settings.tickets.triage_threshold,
        requester=msg.from_address,
        language=result.language,
        received_at=ctx.received_at,
        due_at=due_at(ctx.received_at, settings.sla),
    )
    session.add(ticket)
    session.flush()  # the id is the reference's number, unique without a counter table
    ticket.reference = format_reference(settings.tickets.reference_prefix, ticket.id)
    audit.record(
        session, deps.clock.now(), "ticket.opened", ticket_id=ticket.id, inbound_id=ctx.inbound.id,
        reference=ticket.reference, kind=ticket.kind, labels=ticket.labels,
        confidence=ticket.confidence, language=ticket.language, due_at=ticket.due_at,
        needs_triage=ticket.needs_triage,
    )
    return ticket
