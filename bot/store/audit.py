"""The audit trail: one append-only row for every decision the bot or a person makes."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import event, insert
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.util import find_tables
from sqlmodel import Session, select

from bot.store.models import AuditEvent
from bot.store.audit_chain import link

_PENDING = "audit.pending"   # session.info key: events recorded, not yet written
_MARKS = "audit.marks"       # session.info key: how many were pending when each savepoint began
_TABLE = AuditEvent.__table__
_READS: dict[int, tuple[object, bool]] = {}


def record(
    session: Session,
    at: datetime,
    action: str,
    *,
    ticket_id: int | None = None,
    inbound_id: int | None = None,
    actor: str = "bot",
    **detail: object,
) -> None:
    """Add an event to the session's transaction; `detail` is evidence, never a message body.

    Events are written together, in the order recorded, before the transaction commits (or
    before anything reads the trail within it): one statement instead of one per event."""
    session.info.setdefault(_PENDING, []).append({
        "at": at, "actor": actor, "action": action, "ticket_id": ticket_id, "inbound_id": inbound_id,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    })


def write_pending(session: OrmSession) -> None:
    """Write the events recorded so far (after the rows they name)."""
    rows = session.info.pop(_PENDING, None)
    if rows:
        session.flush()
        link(session, rows)
        session.execute(insert(_TABLE), rows)


def trail(session: Session, ticket_id: int) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.ticket_id == ticket_id).order_by(AuditEvent.id)
    return list(session.exec(query))


@event.listens_for(OrmSession, "before_commit")
def _write_before_commit(session: OrmSession) -> None:
    write_pending(session)


@event.listens_for(OrmSession, "do_orm_execute")
def _write_before_reading_the_trail(state) -> None:
    if state.session.info.get(_PENDING) and _reads_the_trail(state.statement):
        write_pending(state.session)


def _reads_the_trail(statement) -> bool:
    """Whether a statement may read audit events; remembered for statements run again and again."""
    hit = _READS.get(id(statement))
    if hit is not None and hit[0] is statement:   # the entry holds it: its id() is not reused meanwhile
        return hit[1]
    reads = isinstance(statement, TextClause) or _TABLE in find_tables(statement, include_joins=True)
    if len(_READS) >= 512:
        _READS.clear()
    _READS[id(statement)] = (statement, reads)
    return reads


@event.listens_for(OrmSession, "after_transaction_create")
def _mark_savepoint(session: OrmSession, transaction) -> None:
    if transaction.nested:   # what was recorded before it survives a rollback to it
        session.info.setdefault(_MARKS, {})[transaction] = len(session.info.get(_PENDING, ()))


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_on_rollback(session: OrmSession, previous) -> None:
    pending = session.info.get(_PENDING)
    if pending:   # recorded in work that did not happen
        del pending[session.info.get(_MARKS, {}).get(previous, 0) if previous.nested else 0:]


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_at_end(session: OrmSession, transaction) -> None:
    if transaction.parent is None:   # (it ends before after_soft_rollback: marks are kept until here)
        session.info.pop(_PENDING, None)   # e.g. a session closed without committing
        session.info.pop(_MARKS, None)
