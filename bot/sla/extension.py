"""Extending a ticket's due date: recorded with its reason, and the requester is told."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot.store import audit
from bot.store.models import InboundMessage, OutboxMessage, Ticket
from bot.outbox.queue import queue_mail
from bot.sla.calendar import local_date
from bot.sla.clock_rules import computed_due
from bot.store.sla_models import DONE_STATUSES, SlaExtension
from bot.config.sla import sla_rules
from bot.mail.written_language import check_typed_text

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.mail.render import MailRenderer

MAX_EXTENSION_DAYS = 365


def _latest_message_id(session: Session, ticket: Ticket) -> str | None:
    """The requester's latest Message-ID, so the notice threads in their mail client."""
    return session.exec(select(InboundMessage.message_id).where(
        InboundMessage.ticket_id == ticket.id, InboundMessage.message_id.is_not(None),
        InboundMessage.machine_reason.is_(None), InboundMessage.party != "third-party")
        .order_by(InboundMessage.id.desc())).first()


def extend_due(session: Session, ticket: Ticket, *, days: int, reason: str, actor: str,
               settings: Settings, renderer: MailRenderer, now: datetime,
               other_language: bool = False) -> tuple[SlaExtension, OutboxMessage]:
    """Add `days` (of the configured kind) to the due date, audit it and queue the requester's notice.

    The reason goes into the notice as typed: for a Chinese requester it must be Chinese, unless
    staff say `other_language` (they saw the warning and want it sent so)."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is required: the requester is told why")
    check_typed_text(reason, ticket.language, confirmed=other_language, what="the reason")
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_EXTENSION_DAYS}")
    if ticket.status in DONE_STATUSES:
        raise ValueError(f"{ticket.reference} is {ticket.status}: nothing to extend")
    old_due = ticket.due_at
    extension = SlaExtension(ticket_id=ticket.id, days=days, reason=reason, actor=actor, at=now,
                             old_due_at=old_due, new_due_at=old_due)
    session.add(extension)
    session.flush()
    ticket.due_at = extension.new_due_at = computed_due(session, ticket, settings)
    session.add(ticket)
    audit.record(session, now, "sla.extended", ticket_id=ticket.id, actor=actor, days=days, reason=reason,
                 day_kind=sla_rules(settings.sla).day_kind, old_due_at=old_due, new_due_at=ticket.due_at)
    mail = renderer.render(
        "extension", ticket.language, reference=ticket.reference, days=days, reason=reason,
        working_days=sla_rules(settings.sla).day_kind == "working",
        old_due_date=local_date(old_due, settings.sla), due_date=local_date(ticket.due_at, settings.sla),
        timezone=settings.sla.timezone,
    )
    # Sent because a person decided it, not in automatic reply to a message.
    notice = queue_mail(session, settings=settings, now=now, ticket=ticket, kind="extension",
                        to=ticket.requester, subject=mail.subject, text=mail.text,
                        in_reply_to=_latest_message_id(session, ticket), auto_submitted=None, actor=actor)
    return extension, notice
