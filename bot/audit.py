"""The audit trail: one append-only row for every decision the bot or a person makes."""
from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, select

from bot.models import AuditEvent


def record(
    session: Session,
    at: datetime,
    action: str,
    *,
    ticket_id: int | None = None,
    inbound_id: int | None = None,
    actor: str = "bot",
    **detail: object,
) -> AuditEvent:
    """Add an event to the session's transaction; `detail` is evidence, never a message body."""
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        ticket_id=ticket_id,
        inbound_id=inbound_id,
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    )
    session.add(event)
    return event


def trail(session: Session, ticket_id: int) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.ticket_id == ticket_id).order_by(AuditEvent.id)
    return list(session.exec(query))
