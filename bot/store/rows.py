"""Writing one new row without the unit of work: INSERT ... RETURNING, the object kept in the session."""
from __future__ import annotations

from functools import cache

from sqlalchemy import Table, insert
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel


@cache
def _insert_returning_id(table: Table):
    return insert(table).returning(table.c.id)


def insert_row(session: Session, row: SQLModel) -> int:
    """Write a new row now, with one statement, and keep `row` in the session as written (persistent).

    For the hot path (#16): a unit-of-work flush costs several times the row itself. The row's
    table must have an integer `id` that the database assigns; every other column is written as
    the object holds it (its defaults were filled in when it was made).

    The session does not count the row as new: rolled back to a savepoint, it would stay in the
    session, and a later row given the same id (SQLite reuses it) could not join. Callers end the
    session after a failure (bot/intake/batch.py does). bot/outbox/queue.py's add_row returns its
    row detached for the same reason."""
    table = type(row).__table__
    session.flush()   # what is pending first (cheap when nothing is): the rows this one may refer to
    values = {c.name: getattr(row, c.name) for c in table.columns if c.name != "id"}
    row.id = session.connection().execute(_insert_returning_id(table), values).scalar_one()
    make_transient_to_detached(row)
    session.add(row)
    return row.id
