"""Several processes claiming outbox rows and draft decisions at once: each row is taken by one only."""
from __future__ import annotations

import multiprocessing
from datetime import datetime, timedelta, timezone

from sqlmodel import Session, select

from bot.clock import FixedClock
from bot.config import Settings, SmtpSettings
from bot.store.db import init_db, make_engine, session_factory
from bot.store.models import OutboxMessage, Ticket
from bot.outbox.queue import queue_mail
from bot.outbox.sender import _claim

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
ROWS, WORKERS = 300, 3


def _claim_until_empty(url: str, start, results) -> None:
    engine = make_engine(url)
    sessions, clock = session_factory(engine), FixedClock(NOW)
    smtp = SmtpSettings(host="127.0.0.1", from_address="support@esl.example")
    start.wait()
    taken = []
    while rows := _claim(sessions, clock, smtp, 2).rows:
        taken.extend(row.id for row in rows)
    results.put(taken)
    engine.dispose()


def test_concurrent_senders_never_claim_one_row_twice(database_url):
    engine = make_engine(database_url)
    init_db(engine)
    settings = Settings(smtp={"from_address": "support@esl.example"},
                        loops={"per_address_per_hour": ROWS, "global_per_hour": 10 * ROWS})
    with Session(engine) as s:
        ticket = Ticket(reference="ESL-000001", requester="a@example.org", received_at=NOW,
                        due_at=NOW + timedelta(days=15))
        s.add(ticket)
        s.flush()
        for i in range(ROWS):
            queue_mail(s, settings=settings, now=NOW, ticket=ticket, kind="reply-other", to=f"u{i}@example.org",
                       subject="Your request", text="Hello\n", auto_submitted=None, actor="staff:a@esl.example")
        s.commit()
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_claim_until_empty, args=(database_url, start, results)) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    start.set()
    taken = [row_id for _ in workers for row_id in results.get(timeout=120)]
    for worker in workers:
        worker.join(30)
    assert len(taken) == ROWS and len(set(taken)) == ROWS   # every row claimed, none twice
    with Session(engine) as s:
        assert not s.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
    engine.dispose()
