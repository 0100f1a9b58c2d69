"""Writing rows without the unit of work: one INSERT ... RETURNING or UPDATE each, the object kept in step."""
from __future__ import annotations

from functools import cache

from sqlalchemy import Table, bindparam, insert, inspect, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel


@cache
def _insert_returning_id(table: Table):
    return insert(table).returning(table.c.id)


@cache
def _update_by_id(table: Table, columns: tuple[str, ...]):
    return update(table).where(table.c.id == bindparam("row_id")).values(
        {name: bindparam(name) for name in columns})


def insert_row(session: Session, row: SQLModel) -> int:
    """Write a new row now, with one statement, and keep `row` in the session as written (persistent).

    For the hot path (#16): a unit-of-work flush costs several times the row itself. The row's
    table must have an integer `id` that the database assigns; every other column is written as
    the object holds it (its defaults were filled in when it was made). A row the session holds
    as new (added, not yet flushed) is taken out of the unit of work and written the same way.

    The session does not count the row as new: rolled back to a savepoint, it would stay in the
    session, and a later row given the same id (SQLite reuses it) could not join. Callers end the
    session after a failure (bot/intake/batch.py does). bot/outbox/queue.py's add_row returns its
    row detached for the same reason."""
    table = type(row).__table__
    if row in session.new:
        session.expunge(row)
    session.flush()   # what is pending first (cheap when nothing is): the rows this one may refer to
    values = {c.name: getattr(row, c.name) for c in table.columns if c.name != "id"}
    row.id = session.connection().execute(_insert_returning_id(table), values).scalar_one()
    make_transient_to_detached(row)
    session.add(row)
    return row.id


def update_row(session: Session, row: SQLModel, **values: object) -> None:
    """Set columns of `row`: written now with one UPDATE by its id if it is in the database, the
    session left with nothing to flush for them; a row not written yet just takes the values, for
    its INSERT. Values it holds already cost nothing.

    Like insert_row, for sessions that end after a failure: a savepoint rolled back would not
    restore the values set here."""
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    if not changed:
        return
    if not inspect(row).persistent:
        for name, value in changed.items():
            setattr(row, name, value)
        return
    statement = _update_by_id(type(row).__table__, tuple(sorted(changed)))
    session.connection().execute(statement, {"row_id": row.id, **changed})
    for name, value in changed.items():
        set_committed_value(row, name, value)   # as the database holds it: nothing left to flush
