"""The SLA sweep: one reminder mail per recipient listing every ticket that crossed a threshold."""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import exists, or_
from sqlmodel import Session, select

from bot.store import audit
from bot.store.models import Ticket
from bot.sla.calendar import day_start, days_left, local_date, local_day
from bot.outbox.queue import queue_mail
from bot.store.sla_models import ReminderSent, TicketSla
from bot.sla.queries import open_statuses
from bot.config.sla import sla_rules

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.mail.render import MailRenderer

log = logging.getLogger(__name__)
OVERDUE = "overdue"


@dataclass(frozen=True)
class ReminderLine:
    ticket_id: int
    reference: str
    kind: str
    status: str
    verification: str
    waiting_on: str | None
    assignee: str | None
    due_date: str
    days_left: int
    threshold: str                      # the most urgent one crossed


@dataclass
class SweepReport:
    reminded: list[ReminderLine] = field(default_factory=list)
    mails: dict[str, int] = field(default_factory=dict)       # recipient -> tickets listed
    no_recipient: list[str] = field(default_factory=list)     # references nobody could be told about


def crossed_thresholds(left: int, offsets: list[int]) -> list[str]:
    """Thresholds a ticket with `left` days left has crossed, most urgent first."""
    found = [OVERDUE] if left < 0 else []
    return found + [f"{days}d" for days in sorted(offsets) if left <= days]


def _candidates(session: Session, settings: Settings, now: datetime) -> list[tuple]:
    """Open tickets within reach of a threshold, less those whose overdue reminder already went."""
    statuses = open_statuses(session)
    if not statuses:
        return []
    reach = max(settings.reminders.days_before, default=-1)
    horizon = day_start(local_day(now, settings.sla) + timedelta(days=reach + 1), settings.sla)
    overdue_sent = exists().where(ReminderSent.ticket_id == Ticket.id, ReminderSent.threshold == OVERDUE,
                                  ReminderSent.due_at == Ticket.due_at)
    query = (select(Ticket, TicketSla.assignee).outerjoin(TicketSla, TicketSla.ticket_id == Ticket.id)
             .where(Ticket.status.in_(statuses), Ticket.due_at < horizon, ~overdue_sent)
             .order_by(Ticket.due_at, Ticket.id))
    if sla_rules(settings.sla).pause_while_waiting:  # the clock is stopped: nothing to remind
        query = query.where(or_(Ticket.waiting_on.is_(None), Ticket.waiting_on != "requester"))
    return list(session.exec(query))


def _already_sent(session: Session, tickets: list[Ticket]) -> set[tuple[int, str]]:
    due = {t.id: t.due_at for t in tickets}
    sent: set[tuple[int, str]] = set()
    ids = list(due)
    for i in range(0, len(ids), 500):
        rows = session.exec(select(ReminderSent.ticket_id, ReminderSent.threshold, ReminderSent.due_at)
                            .where(ReminderSent.ticket_id.in_(ids[i:i + 500])))
        sent |= {(ticket_id, threshold) for ticket_id, threshold, due_at in rows if due_at == due[ticket_id]}
    return sent


def sweep(session: Session, *, settings: Settings, now: datetime, renderer: MailRenderer) -> SweepReport:
    """Queue the reminders due now, and record each ticket and threshold so it never goes twice.

    After downtime every crossed threshold is recorded at once, and a ticket is listed once,
    at its most urgent threshold: one catch-up mail per recipient, not a flood."""
    report = SweepReport()
    if not settings.reminders.enabled:
        return report
    staff, offsets = settings.staff, settings.reminders.days_before
    rows = _candidates(session, settings, now)
    sent = _already_sent(session, [ticket for ticket, _ in rows])
    lines_for: dict[str, list[ReminderLine]] = defaultdict(list)
    for ticket, assignee in rows:
        left = days_left(ticket.due_at, now, settings.sla)
        pending = [t for t in crossed_thresholds(left, offsets) if (ticket.id, t) not in sent]
        if not pending:
            continue
        line = ReminderLine(ticket.id, ticket.reference, ticket.kind, ticket.status, ticket.verification,
                            ticket.waiting_on, assignee, local_date(ticket.due_at, settings.sla), left, pending[0])
        recipients = [assignee] if assignee else list(staff.reminders_to)
        if line.threshold == OVERDUE:
            recipients += staff.managers  # escalation
        recipients = list(dict.fromkeys(recipients))
        if not recipients:
            report.no_recipient.append(ticket.reference)
            continue
        for threshold in pending:
            session.add(ReminderSent(ticket_id=ticket.id, threshold=threshold, due_at=ticket.due_at,
                                     sent_at=now, recipients=",".join(recipients)))
        audit.record(session, now, "sla.reminded", ticket_id=ticket.id, thresholds=pending,
                     recipients=recipients, due_at=ticket.due_at, days_left=left)
        report.reminded.append(line)
        for recipient in recipients:
            lines_for[recipient].append(line)
    for recipient, lines in lines_for.items():
        _queue_reminder(session, settings, now, renderer, recipient, lines)
        report.mails[recipient] = len(lines)
    if report.no_recipient:
        log.warning("no reminder recipient for %s: set [staff] reminders_to or assign the tickets",
                    ", ".join(report.no_recipient[:20]))
    return report


def _queue_reminder(session: Session, settings: Settings, now: datetime, renderer: MailRenderer,
                    recipient: str, lines: list[ReminderLine]) -> None:
    lines = sorted(lines, key=lambda line: (line.days_left, line.reference))
    overdue = [line for line in lines if line.threshold == OVERDUE]
    mail = renderer.render("reminder", settings.reminders.language, lines=lines, overdue=len(overdue),
                           due=len(lines) - len(overdue), timezone=settings.sla.timezone,
                           today=local_date(now, settings.sla), managers=settings.staff.managers,
                           escalated=recipient in settings.staff.managers and bool(overdue))
    queue_mail(session, settings=settings, now=now, ticket=None, kind="reminder", to=recipient,
               subject=mail.subject, text=mail.text, auto_submitted="auto-generated",
               about=tuple(line.ticket_id for line in lines))
