"""The managers' digest figures, computed with SQL aggregates over indexed ranges."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import case, func
from sqlmodel import Session, select

from bot.store.models import InboundMessage, OutboxMessage, Ticket
from bot.outbox.loops import ACK_WITH_CODE
from bot.sla.calendar import day_start, days_left, local_date, local_day
from bot.store.sla_models import TicketSla
from bot.sla.queries import bucket_of, median_of, open_statuses, seconds_between

if TYPE_CHECKING:
    from bot.config import Settings

MEDIAN_WINDOW_DAYS = 30
ON_TIME_WINDOWS = (7, 30)


@dataclass(frozen=True)
class DueLine:
    reference: str
    kind: str
    status: str
    assignee: str | None
    due_date: str
    days_left: int


@dataclass(frozen=True)
class OnTimeShare:
    days: int
    fell_due: int                       # tickets whose due date fell in the last `days` days
    in_time: int                        # of those, answered by their due date

    @property
    def percent(self) -> float | None:
        return 100.0 * self.in_time / self.fell_due if self.fell_due else None


@dataclass(frozen=True)
class StaffLoad:
    assignee: str | None                # None: not assigned (the shared reminder list)
    open: int
    overdue: int
    due_soon: int


@dataclass
class DigestFigures:
    generated_at: datetime
    today: date
    timezone: str
    due_soon_days: int
    open_by_kind_status: dict[tuple[str, str], int]
    due_soon_total: int
    due_soon: list[DueLine]
    overdue_total: int
    overdue: list[DueLine]
    on_time: list[OnTimeShare]
    median_ack_seconds: float | None
    median_completion_seconds: float | None
    load: list[StaffLoad]
    backlog: list[tuple[date, int]]
    undelivered: int = 0                # mail given up on (the console's Undelivered mail page)
    quarantined: int = 0                # messages the bot could not handle (the console's Quarantine)

    @property
    def open_total(self) -> int:
        return sum(self.open_by_kind_status.values())


def digest_figures(session: Session, settings: Settings, now: datetime) -> DigestFigures:
    sla, cfg = settings.sla, settings.digest
    today = local_day(now, sla)
    today_start = day_start(today, sla)
    soon_end = day_start(today + timedelta(days=cfg.due_soon_days + 1), sla)
    statuses = open_statuses(session)
    is_open = Ticket.status.in_(statuses)
    by_kind = {(kind, status): n for kind, status, n in session.exec(
        select(Ticket.kind, Ticket.status, func.count()).where(is_open).group_by(Ticket.kind, Ticket.status))}

    def lines(*where) -> tuple[int, list[DueLine]]:
        total = session.exec(select(func.count()).select_from(Ticket).where(is_open, *where)).one()
        rows = session.exec(select(Ticket.reference, Ticket.kind, Ticket.status, TicketSla.assignee, Ticket.due_at)
                            .outerjoin(TicketSla, TicketSla.ticket_id == Ticket.id).where(is_open, *where)
                            .order_by(Ticket.due_at, Ticket.id).limit(cfg.list_limit))
        return total, [DueLine(ref, kind, status, assignee, local_date(due, sla), days_left(due, now, sla))
                       for ref, kind, status, assignee, due in rows]

    overdue_total, overdue = lines(Ticket.due_at < today_start)
    soon_total, soon = lines(Ticket.due_at >= today_start, Ticket.due_at < soon_end)
    return DigestFigures(
        generated_at=now, today=today, timezone=sla.timezone, due_soon_days=cfg.due_soon_days,
        open_by_kind_status=by_kind, due_soon_total=soon_total, due_soon=soon,
        overdue_total=overdue_total, overdue=overdue,
        on_time=[_on_time(session, settings, today, days) for days in ON_TIME_WINDOWS],
        median_ack_seconds=_median_ack(session, now - timedelta(days=MEDIAN_WINDOW_DAYS)),
        median_completion_seconds=_median_completion(session, now - timedelta(days=MEDIAN_WINDOW_DAYS)),
        load=_load(session, is_open, today_start, soon_end),
        backlog=_backlog(session, settings, now, sum(by_kind.values())),
        # Both wait on a person: a requester who never got our mail, a request nobody has read.
        undelivered=session.exec(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.status == "failed")).one(),
        quarantined=session.exec(select(func.count()).select_from(InboundMessage)
                                 .where(InboundMessage.status == "quarantined")).one(),
    )


def _on_time(session: Session, settings: Settings, today: date, days: int) -> OnTimeShare:
    """Tickets whose due date was one of the last `days` days before today: how many were in time."""
    start, end = day_start(today - timedelta(days=days), settings.sla), day_start(today, settings.sla)
    fell_due, in_time = session.exec(
        select(func.count(), func.coalesce(func.sum(case((TicketSla.on_time.is_(True), 1), else_=0)), 0))
        .select_from(Ticket).outerjoin(TicketSla, TicketSla.ticket_id == Ticket.id)
        .where(Ticket.due_at >= start, Ticket.due_at < end)).one()
    return OnTimeShare(days, fell_due, int(in_time))


def _median_ack(session: Session, since: datetime) -> float | None:
    """Receipt to our first acknowledgement actually sent, for tickets received since `since`."""
    dialect = session.get_bind().dialect.name
    first_ack = seconds_between(func.min(OutboxMessage.sent_at), Ticket.received_at, dialect)
    return median_of(session, select(first_ack).select_from(Ticket)
                     .join(OutboxMessage, OutboxMessage.ticket_id == Ticket.id)
                     .where(Ticket.received_at >= since, OutboxMessage.kind.in_(("ack", ACK_WITH_CODE)),
                            OutboxMessage.sent_at.is_not(None))
                     .group_by(Ticket.id, Ticket.received_at))


def _median_completion(session: Session, since: datetime) -> float | None:
    dialect = session.get_bind().dialect.name
    return median_of(session, select(seconds_between(TicketSla.completed_at, Ticket.received_at, dialect))
                     .select_from(TicketSla).join(Ticket, Ticket.id == TicketSla.ticket_id)
                     .where(TicketSla.completed_at >= since))


def _load(session: Session, is_open, today_start: datetime, soon_end: datetime) -> list[StaffLoad]:
    overdue = func.sum(case((Ticket.due_at < today_start, 1), else_=0))
    soon = func.sum(case(((Ticket.due_at >= today_start) & (Ticket.due_at < soon_end), 1), else_=0))
    rows = session.exec(select(TicketSla.assignee, func.count(), overdue, soon).select_from(Ticket)
                        .outerjoin(TicketSla, TicketSla.ticket_id == Ticket.id).where(is_open)
                        .group_by(TicketSla.assignee))
    loads = [StaffLoad(assignee, n, int(late or 0), int(near or 0)) for assignee, n, late, near in rows]
    return sorted(loads, key=lambda load: (load.assignee is None, -load.open, load.assignee or ""))


def _backlog(session: Session, settings: Settings, now: datetime, open_now: int) -> list[tuple[date, int]]:
    """Open tickets at the end of each recent day, walked back from today: minus arrivals, plus completions."""
    today = local_day(now, settings.sla)
    days = [today - timedelta(days=n) for n in range(settings.digest.backlog_days - 1, -1, -1)]
    starts = [day_start(day, settings.sla) for day in days[1:]]   # day i+1 starts at starts[i]

    def per_day(column) -> dict[int, int]:
        # Grouped outside a subquery: PostgreSQL will not match a GROUP BY holding bound parameters.
        rows = select(bucket_of(column, starts).label("day")).where(column >= starts[0], column <= now).subquery()
        return dict(session.exec(select(rows.c.day, func.count()).group_by(rows.c.day)).all())

    arrived, completed = per_day(Ticket.received_at), per_day(TicketSla.completed_at)
    backlog, level = [(days[-1], open_now)], open_now
    for i in range(len(starts) - 1, -1, -1):
        level = max(0, level - arrived.get(i, 0) + completed.get(i, 0))
        backlog.append((days[i], level))
    return backlog[::-1]
