"""Read-side views of tickets and messages, shared by the CLI (and later the web console)."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import defer
from sqlmodel import Session, select

from bot.config import Settings
from bot.models import InboundMessage, Ticket
from bot.sla import days_left


def ticket_rows(session: Session, settings: Settings, now: datetime) -> list[dict]:
    """Times in the configured zone (with their offset), as staff read them."""
    zone = ZoneInfo(settings.sla.timezone)
    tickets = session.exec(select(Ticket).order_by(Ticket.due_at, Ticket.id))
    return [
        {
            "reference": t.reference,
            "subject": t.subject,
            "kind": t.kind,
            "labels": t.labels.split(","),
            "confidence": t.confidence,
            "needs_triage": t.needs_triage,
            "status": t.status,
            "requester": t.requester,
            "language": t.language,
            "received_at": t.received_at.astimezone(zone).isoformat(),
            "due_at": t.due_at.astimezone(zone).isoformat(),
            "days_left": days_left(t.due_at, now, settings.sla),
        }
        for t in tickets
    ]


def message_rows(session: Session) -> list[dict]:
    query = select(InboundMessage, Ticket.reference).join(
        Ticket, InboundMessage.ticket_id == Ticket.id, isouter=True).order_by(InboundMessage.id).options(defer(InboundMessage.raw))
    return [
        {
            "message_id": m.message_id,
            "sender": m.sender,
            "subject": m.subject,
            "ticket": reference,
            "opened_ticket": m.opened_ticket,
            "machine_mail": m.machine_reason is not None,
            "machine_reason": m.machine_reason,
            "status": m.status,
            "quarantine_reason": m.quarantine_reason,
            "received_at": m.received_at.isoformat(),
            "new_text": m.new_text,
            "attachments": json.loads(m.attachments),
        }
        for m, reference in session.exec(query)
    ]
