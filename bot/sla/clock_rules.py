"""The clock's rules: where it starts, pauses while we wait on the requester, extensions, completion."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import Session, select

from bot.store import audit
from bot.store.models import Ticket
from bot.store.models import StaffUser
from bot.sla.calendar import add_days, counted_days, days_left, local_day
from bot.store.sla_models import DONE_STATUSES, SlaExtension, SlaPause, TicketSla
from bot.config.sla import sla_rules

if TYPE_CHECKING:
    from bot.config import Settings


def sla_row(session: Session, ticket: Ticket) -> TicketSla:
    """The ticket's SLA row, created on first use."""
    row = session.get(TicketSla, ticket.id)
    if row is None:
        row = TicketSla(ticket_id=ticket.id)
        session.add(row)
    return row


def _track_pause(session: Session, ticket: Ticket, now: datetime) -> None:
    open_pause = session.exec(select(SlaPause).where(SlaPause.ticket_id == ticket.id,
                                                     SlaPause.ended_at.is_(None))).first()
    waiting = ticket.waiting_on == "requester" and ticket.status not in DONE_STATUSES
    if waiting and open_pause is None:
        session.add(SlaPause(ticket_id=ticket.id, started_at=now))
    elif not waiting and open_pause is not None:
        open_pause.ended_at = now
        session.add(open_pause)


def _paused_days(session: Session, ticket: Ticket, since: datetime, settings: Settings) -> int:
    """Counted days of the finished waits after the clock started (a wait still running adds none yet)."""
    total = 0
    for pause in session.exec(select(SlaPause).where(SlaPause.ticket_id == ticket.id,
                                                     SlaPause.ended_at.is_not(None))):
        start = max(pause.started_at, since)
        if pause.ended_at > start:
            total += counted_days(local_day(start, settings.sla), local_day(pause.ended_at, settings.sla),
                                  settings.sla)
    return total


def computed_due(session: Session, ticket: Ticket, settings: Settings) -> datetime:
    """The due date from the rules and the ticket's recorded start, waits and extensions."""
    rules = sla_rules(settings.sla)
    row = session.get(TicketSla, ticket.id)
    start = ticket.received_at
    if rules.clock_starts == "verified" and row is not None and row.clock_started_at is not None:
        start = row.clock_started_at
    extra = session.exec(select(func.coalesce(func.sum(SlaExtension.days), 0))
                         .where(SlaExtension.ticket_id == ticket.id)).one()
    if rules.pause_while_waiting:
        extra += _paused_days(session, ticket, start, settings)
    return add_days(start, settings.sla.days + extra, settings.sla)


def recompute_due(session: Session, ticket: Ticket, settings: Settings, now: datetime,
                  *, actor: str = "bot") -> datetime:
    """Record a verification or a change of waiting_on, then set (and audit) the due date they give.

    Call it after anything changes ticket.verification or ticket.waiting_on."""
    rules = sla_rules(settings.sla)
    if rules.clock_starts != "verified" and not rules.pause_while_waiting:
        # The due date then follows only from receipt and extensions, and extending sets it itself:
        # neither changes here (this runs for every new request, so the queries are worth saving).
        return ticket.due_at
    session.flush()  # the ticket needs its id
    if rules.pause_while_waiting:
        _track_pause(session, ticket, now)
    if rules.clock_starts == "verified" and ticket.verification == "verified":
        row = sla_row(session, ticket)
        if row.clock_started_at is None:
            row.clock_started_at = now
    session.flush()
    new_due = computed_due(session, ticket, settings)
    if new_due != ticket.due_at:
        audit.record(session, now, "sla.due_changed", ticket_id=ticket.id, actor=actor,
                     old_due_at=ticket.due_at, new_due_at=new_due, day_kind=rules.day_kind,
                     clock_starts=rules.clock_starts)
        ticket.due_at = new_due
        session.add(ticket)
    return new_due


def mark_completed(session: Session, ticket: Ticket, settings: Settings, now: datetime, *,
                   status: str = "answered", actor: str = "bot") -> TicketSla:
    """End the ticket's clock (the substantive reply went out, or it was closed) and note if in time."""
    if status not in DONE_STATUSES:
        raise ValueError(f"status must be one of {', '.join(DONE_STATUSES)}")
    row = sla_row(session, ticket)
    row.completed_at, row.on_time = now, days_left(ticket.due_at, now, settings.sla) >= 0
    ticket.status = status
    session.add(ticket)
    audit.record(session, now, "sla.completed", ticket_id=ticket.id, actor=actor, status=status,
                 due_at=ticket.due_at, on_time=row.on_time)
    return row


def staff_assignee(session: Session, assignee: str | None) -> str | None:
    """The address to assign to, if it is an active staff account (the console and the CLI ask this);
    ValueError otherwise: reminders to anyone else would go to someone who cannot act on them."""
    address = assignee.strip().lower() if assignee else None
    if address and not session.exec(select(StaffUser.id).where(func.lower(StaffUser.email) == address,
                                                               StaffUser.active)).first():
        raise ValueError(f"{address} is no active staff account (see `supportbot users list`)")
    return address


def assign(session: Session, ticket: Ticket, assignee: str | None, now: datetime, *, actor: str) -> TicketSla:
    """Give the ticket to a staff member (their address), or back to the shared list with None."""
    row = sla_row(session, ticket)
    row.assignee = assignee.strip().lower() if assignee else None
    audit.record(session, now, "ticket.assigned", ticket_id=ticket.id, actor=actor, assignee=row.assignee)
    return row
