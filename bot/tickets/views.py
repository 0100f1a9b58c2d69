"""Read-side views of tickets and messages, shared by the CLI (and later the web console)."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import defer
from sqlmodel import Session, select

from bot.config import Settings
from bot.store import audit
from bot.store.models import Draft, DraftAttachment, InboundMessage, OutboxMessage, Ticket
from bot.sla import days_left
from bot.outbox.sms import shown_recipient
from bot.tickets.opening import find_by_reference


def ticket_rows(session: Session, settings: Settings, now: datetime, only: int | None = None) -> list[dict]:
    """Times in the configured zone (with their offset), as staff read them."""
    zone = ZoneInfo(settings.sla.timezone)
    query = select(Ticket).order_by(Ticket.due_at, Ticket.id)
    tickets = session.exec(query.where(Ticket.id == only) if only is not None else query)
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
            "verification": t.verification,
            "account_id": t.account_id,
            "waiting_on": t.waiting_on,
        }
        for t in tickets
    ]


def message_rows(session: Session, ticket_id: int | None = None) -> list[dict]:
    query = select(InboundMessage, Ticket.reference).join(
        Ticket, InboundMessage.ticket_id == Ticket.id, isouter=True).order_by(InboundMessage.id).options(defer(InboundMessage.raw))
    if ticket_id is not None:
        query = query.where(InboundMessage.ticket_id == ticket_id)
    return [
        {
            "message_id": m.message_id,
            "sender": m.sender,
            "subject": m.subject,
            "ticket": reference,
            "opened_ticket": m.opened_ticket,
            "party": m.party,   # requester | requester-unproven | third-party (bot/tickets/threads.py)
            "machine_mail": m.machine_reason is not None,
            "machine_reason": m.machine_reason,
            "status": m.status,
            "quarantine_reason": m.quarantine_reason,
            "received_at": m.received_at.isoformat(),
            "new_text": "(purged under retention)" if m.purged_at else m.new_text,
            "purged_at": m.purged_at.isoformat() if m.purged_at else None,
            "attachments": json.loads(m.attachments),
        }
        for m, reference in session.exec(query)
    ]


def ticket_detail(session: Session, settings: Settings, now: datetime, reference: str) -> dict | None:
    """One ticket with its messages, the mail we sent and its audit trail, oldest first."""
    ticket = find_by_reference(session, reference)
    if ticket is None:
        return None
    row = next(r for r in ticket_rows(session, settings, now, only=ticket.id))
    row["messages"] = [m for m in message_rows(session, ticket_id=ticket.id)]
    row["sent"] = [{"kind": o.kind, "to": shown_recipient(o.kind, o.to_address), "subject": o.subject,
                    "status": o.status, "created_at": o.created_at.isoformat()}
                   for o in session.exec(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)
                                         .order_by(OutboxMessage.id).options(defer(OutboxMessage.raw)))]
    row["audit"] = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": json.loads(e.detail)}
                    for e in audit.trail(session, ticket.id)]
    return row


def draft_rows(session: Session, settings: Settings, now: datetime, status: str | None = "pending") -> list[dict]:
    """Drafts (pending by default), most urgent ticket first."""
    query = select(Draft, Ticket).join(Ticket, Draft.ticket_id == Ticket.id).order_by(Ticket.due_at, Draft.id)
    if status:
        query = query.where(Draft.status == status)
    return [
        {"id": d.id, "ticket": t.reference, "kind": d.kind, "language": d.language, "to": d.to_address,
         "subject": d.subject, "status": d.status, "verification": t.verification,
         "due_at": t.due_at.astimezone(ZoneInfo(settings.sla.timezone)).isoformat(),
         "days_left": days_left(t.due_at, now, settings.sla), "created_at": d.created_at.isoformat(),
         "decided_by": d.decided_by, "edited": d.edited, "reject_reason": d.reject_reason}
        for d, t in session.exec(query)
    ]


def draft_detail(session: Session, settings: Settings, now: datetime, draft_id: int) -> dict | None:
    rows = [r for r in draft_rows(session, settings, now, status=None) if r["id"] == draft_id]
    if not rows:
        return None
    draft = session.get(Draft, draft_id)
    files = session.exec(select(DraftAttachment.filename, DraftAttachment.content_type)
                         .where(DraftAttachment.draft_id == draft_id).order_by(DraftAttachment.id))
    return {**rows[0], "text": draft.text, "attachments": [{"filename": f, "content_type": c} for f, c in files]}
