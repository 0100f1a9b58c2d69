"""The audit trail is append-only, in the ORM and in the database itself."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from bot.store import audit
from bot.store.db import AppendOnlyError
from bot.store.models import AuditEvent


def test_events_can_be_added_but_not_changed_or_deleted(engine, clock):
    with Session(engine) as s:
        audit.record(s, clock.now(), "ticket.opened", reference="ESL-000001")
        s.commit()
        event = s.exec(select(AuditEvent)).one()
        event.action = "something else"
        with pytest.raises(AppendOnlyError):
            s.commit()
        s.rollback()
        s.delete(s.exec(select(AuditEvent)).one())
        with pytest.raises(AppendOnlyError):
            s.commit()


def test_database_refuses_raw_updates_and_deletes(engine, clock):
    with Session(engine) as s:
        audit.record(s, clock.now(), "ticket.opened")
        s.commit()
    for statement in ("UPDATE auditevent SET action = 'x'", "DELETE FROM auditevent"):
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement))
