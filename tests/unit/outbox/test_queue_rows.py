"""The row queue_mail inserts: in the database at once, returned whole, gone with a rolled-back savepoint."""
from __future__ import annotations

from sqlalchemy import inspect
from sqlmodel import Session, func, select

from bot.store.models import OutboxMessage
from bot.outbox.queue import queue_mail


def _queue(session, settings, clock, to="staff@esl.example"):
    return queue_mail(session, settings=settings, now=clock.now(), ticket=None, kind="reminder", to=to,
                      subject="Due soon", text="t\n")


def test_the_row_is_in_the_transaction_at_once_and_returned_with_every_column(engine, settings, clock):
    with Session(engine) as s:
        row = _queue(s, settings, clock)
        counted = s.connection().execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
        assert counted == 1    # visible to a plain statement in the same transaction: nothing waits for a flush
        s.commit()
    assert inspect(row).detached   # readable after its session is gone, without a query
    assert (row.status, row.attempts, row.sent_at, row.to_address, row.kind) == ("pending", 0, None,
                                                                                 "staff@esl.example", "reminder")
    with Session(engine) as s:
        stored = s.get(OutboxMessage, row.id)
        assert (stored.message_id, stored.raw, stored.next_attempt_at) == (row.message_id, row.raw, clock.now())


def test_a_rolled_back_savepoint_takes_its_mail_and_the_next_mail_queues(engine, settings, clock):
    with Session(engine) as s:
        savepoint = s.begin_nested()
        _queue(s, settings, clock, to="first@esl.example")
        savepoint.rollback()     # as when handling a message fails (bot/intake/batch.py)
        row = _queue(s, settings, clock, to="second@esl.example")   # SQLite may give it the same id
        s.commit()
    with Session(engine) as s:
        assert [r.to_address for r in s.exec(select(OutboxMessage))] == ["second@esl.example"]
        assert s.get(OutboxMessage, row.id).to_address == "second@esl.example"
