"""The digest's second half: who each open ticket waits on, this week against last, the oldest open tickets."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import case, func
from sqlmodel import Session, select

from bot.store.models import Draft, OutboxMessage, Ticket
from bot.sla.calendar import day_start, local_date, local_day
from bot.store.sla_models import TicketSla
from bot.sla.queries import median_of, open_statuses, seconds_between

if TYPE_CHECKING:
    from bot.config import Settings

# Whom an open ticket waits on, the first that holds: our reply never arrived, a draft waits for
# approval, the requester owes us a code or account details, else staff.
WAITING_ON = ("undelivered reply", "draft awaiting approval", "requester", "staff")
OLDEST_SHOWN = 10


@dataclass(frozen=True)
class Week:
    first_day: date
    new: int
    completed: int
    completed_on_time: int
    median_days: float | None            # receipt to completion, of those completed in the week


@dataclass(frozen=True)
class OldTicket:
    reference: str
    kind: str
    received: str                        # local date
    age_days: int
    waiting_on: str


@dataclass
class DigestTrend:
    waiting: dict[tuple[str, str], int]  # (kind, WAITING_ON entry) -> open tickets
    this_week: Week
    last_week: Week
    oldest: list[OldTicket]


def _waiting_column():
    undelivered = Ticket.id.in_(select(OutboxMessage.ticket_id).where(
        OutboxMessage.status == "failed", OutboxMessage.kind.like("reply%"), OutboxMessage.ticket_id.is_not(None)))
    drafted = Ticket.id.in_(select(Draft.ticket_id).where(Draft.status == "pending"))
    return case((undelivered, WAITING_ON[0]), (drafted, WAITING_ON[1]),
                (Ticket.waiting_on == "requester", WAITING_ON[2]), else_=WAITING_ON[3])


def _week(session: Session, start: datetime, end: datetime, first_day: date) -> Week:
    in_week = (TicketSla.completed_at >= start) & (TicketSla.completed_at < end)
    new = session.exec(select(func.count()).select_from(Ticket)
                       .where(Ticket.received_at >= start, Ticket.received_at < end)).one()
    done, on_time = session.exec(select(func.count(), func.coalesce(func.sum(case(
        (TicketSla.on_time.is_(True), 1), else_=0)), 0)).select_from(TicketSla).where(in_week)).one()
    dialect = session.get_bind().dialect.name
    median = median_of(session, select(seconds_between(TicketSla.completed_at, Ticket.received_at, dialect))
                       .select_from(TicketSla).join(Ticket, Ticket.id == TicketSla.ticket_id).where(in_week))
    return Week(first_day, new, done, int(on_time), None if median is None else median / 86400)


def digest_trend(session: Session, settings: Settings, now: datetime) -> DigestTrend:
    """Weeks are the last seven days up to today (configured zone) and the seven before them."""
    sla = settings.sla
    today = local_day(now, sla)
    starts = [day_start(today - timedelta(days=days), sla) for days in (13, 6)]
    end = day_start(today + timedelta(days=1), sla)
    is_open = Ticket.status.in_(open_statuses(session))
    waiting = _waiting_column().label("waiting")
    counts = {(kind, who): n for kind, who, n in session.exec(
        select(Ticket.kind, waiting, func.count()).where(is_open).group_by(Ticket.kind, waiting))}
    rows = session.exec(select(Ticket.reference, Ticket.kind, Ticket.received_at, waiting).where(is_open)
                        .order_by(Ticket.received_at, Ticket.id).limit(OLDEST_SHOWN))
    oldest = [OldTicket(ref, kind, local_date(received, sla), (today - local_day(received, sla)).days, who)
              for ref, kind, received, who in rows]
    return DigestTrend(waiting=counts, this_week=_week(session, starts[1], end, today - timedelta(days=6)),
                       last_week=_week(session, starts[0], starts[1], today - timedelta(days=13)), oldest=oldest)
