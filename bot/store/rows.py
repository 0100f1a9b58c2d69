"""Writing rows without the unit of work: one INSERT ... RETURNING or UPDATE each, the object kept in step."""
from __future__ import annotations

from functools import cache
from typing import TypeVar

from sqlalchemy import Table, bindparam, insert, inspect, update
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel

Row = TypeVar("Row", bound=SQLModel)


@cache
def _defaults(model: type[SQLModel]) -> dict[str, object]:
    if any(field.default_factory for field in model.model_fields.values()):
        raise TypeError(f"{model.__name__} has a default factory: make it with its constructor")
    return {name: field.default for name, field in model.model_fields.items() if not field.is_required()}


def new_row(model: type[Row], **values: object) -> Row:
    """A new row (transient), as model(**values) makes it but at a fraction of the cost: built as the
    ORM builds a row it loads, the model's defaults filled in. No validation: for the hot path (#16),
    whose values have the columns' types already."""
    mapper = inspect(model)
    if not mapper.configured:
        configure_mappers()   # as the first query or constructor would
    row = mapper.class_manager.new_instance()
    row.__dict__.update(_defaults(model), **values)
    return row


@cache
def _insert_returning_id(table: Table):
    return insert(table).returning(table.c.id)


@cache
def _update_by_id(table: Table, columns: tuple[str, ...]):
    return update(table).where(table.c.id == bindparam("row_id")).values(
        {name: bindparam(name) for name in columns})


def insert_row(session: Session, row: SQLModel, statement=None, **params: object) -> int:
    """Write a new row now, with one statement, and keep `row` in the session as written (persistent).

    For the hot path (#16): a unit-of-work flush costs several times the row itself. The row's
    table must have an integer `id` that the database assigns; every other column is written as
    the object holds it (its defaults were filled in when it was made). A row the session holds
    as new (added, not yet flushed) is taken out of the unit of work and written the same way.

    The session does not count the row as new: rolled back to a savepoint, it would stay in the
    session, and a later row given the same id (SQLite reuses it) could not join. Callers end the
    session after a failure (bot/intake/batch.py does). bot/outbox/queue.py's add_row returns its
    row detached for the same reason.

    `statement`: another INSERT taking the columns (and `params`) and returning the id and any
    column the database computes, which the row then holds (bot/tickets/opening.py's reference)."""
    table = type(row).__table__
    if row in session.new:
        session.expunge(row)
    session.flush()   # what is pending first (cheap when nothing is): the rows this one may refer to
    values = {c.name: getattr(row, c.name) for c in table.columns if c.name != "id"}
    written = session.connection().execute(
        _insert_returning_id(table) if statement is None else statement, {**values, **params}).one()
    row.__dict__.update(written._mapping)
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
