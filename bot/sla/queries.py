"""Query helpers shared by the sweep and the digest: open statuses, durations, day buckets."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, case, func, literal
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from bot.store.models import Ticket
from bot.store.sla_models import DONE_STATUSES


def ticket_statuses(session: Session) -> list[str]:
    """Every status in use, found by index seeks (one per status) rather than a scan of all tickets."""
    found: list[str] = []
    while True:
        query = select(func.min(Ticket.status))
        if found:
            query = query.where(Ticket.status > found[-1])
        status = session.exec(query).one()
        if status is None:
            return found
        found.append(status)


def open_statuses(session: Session) -> list[str]:
    """The statuses in use that keep a ticket on the clock; `status IN (...)` then uses the index."""
    return [status for status in ticket_statuses(session) if status not in DONE_STATUSES]


def seconds_between(later: ColumnElement, earlier: ColumnElement, dialect: str) -> ColumnElement:
    """later - earlier in seconds, as SQL for SQLite (text timestamps) or PostgreSQL."""
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def bucket_of(column: ColumnElement, boundaries: list[datetime]) -> ColumnElement:
    """The index i with boundaries[i] <= column < boundaries[i+1] (portable: no time-zone SQL)."""
    whens = [(column < boundary, literal(i - 1)) for i, boundary in enumerate(boundaries) if i]
    return case(*whens, else_=literal(len(boundaries) - 1))


def median_of(session: Session, query: Select) -> float | None:
    """The median of a one-column query's values, found by sorting in the database."""
    count = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    if not count:
        return None
    column = query.selected_columns[0]
    middle = session.execute(query.order_by(column).offset((count - 1) // 2).limit(2 - count % 2)).scalars().all()
    return sum(float(value) for value in middle) / len(middle)
