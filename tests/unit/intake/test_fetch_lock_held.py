"""The fetch lock is asked about before every batch: a pass whose lock died with its connection stops there."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.service.app import App, build_app
from bot.config import Settings
from bot.store.db import init_db, make_engine
from bot.intake.fetcher import drain_folder
from bot.store.locks import fetch_lock, lock_key
from bot.mail.imap import FetchedMessage
from bot.store.models import InboundMessage, MailboxState
from bot.service.run import drain_mailbox
from bot.service.watcher import MailboxWatcher
from tests.support.memory_mailbox import MemoryMailbox
from tests.support import mailgen

BATCH = 2


def terminate_lock_session(engine: Engine) -> int:
    """What a database restart or a cut connection does to the fetch lock's session, done from another one."""
    with engine.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = :key "
            # pg_locks is the whole server's: a bot on another database holds a lock of the same key
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"key": lock_key(conn, "fetch")}).scalar()
        conn.commit()
    return killed


@dataclass
class LockCutDuringFirstFetch(MemoryMailbox):
    """A mailbox whose first fetch coincides with the loss of the fetch lock's database connection."""

    engine: Engine | None = None
    cut: int = 0   # lock sessions terminated

    def fetch(self, uids: list[int], max_bytes: int = 0) -> list[FetchedMessage]:
        if not self.cut:
            self.cut = terminate_lock_session(self.engine)
        return super().fetch(uids, max_bytes)


@pytest.fixture
def pg_engine(postgres_database_url):
    engine = make_engine(postgres_database_url)
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app(pg_engine, clock) -> App:
    settings = Settings(imap={"batch_size": BATCH}, smtp={"from_address": "support@esl.example"})
    return build_app(settings, engine=pg_engine, clock=clock, create_schema=False)


def filled(box: MemoryMailbox, messages: int = 3 * BATCH) -> MemoryMailbox:
    for n in range(messages):
        box.add(mailgen.request(n))
    return box


def stored(engine: Engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(InboundMessage)).one()


def seen(box: MemoryMailbox) -> list[int]:
    return sorted(uid for uid, flags in box.flags.items() if "\\Seen" in flags)


def test_a_pass_stops_before_the_next_batch_once_the_lock_is_lost(app, pg_engine):
    box, lock = filled(LockCutDuringFirstFetch(engine=pg_engine)), fetch_lock(pg_engine)
    assert lock.acquire() and lock.held()
    report = drain_folder(box, app.pipeline, folder="INBOX", batch_size=BATCH, still_held=lock.held)

    assert box.cut == 1 and not lock.held()
    assert report.lock_lost and report.handled == BATCH
    assert box.fetched_count == BATCH                       # nothing of the next batch was read
    assert stored(pg_engine) == BATCH and seen(box) == [1, 2]   # what was handled is committed and flagged
    with Session(pg_engine) as s:
        assert s.get(MailboxState, "INBOX").last_uid == BATCH

    # Whoever holds the lock now (here another connection) carries on from the watermark.
    successor = fetch_lock(pg_engine)
    assert successor.acquire()
    try:
        report = drain_folder(box, app.pipeline, folder="INBOX", batch_size=BATCH, still_held=successor.held)
    finally:
        successor.release()
    assert not report.lock_lost and report.handled == 2 * BATCH
    assert stored(pg_engine) == 3 * BATCH and seen(box) == list(range(1, 3 * BATCH + 1))


def test_drain_mailbox_asks_its_own_lock_before_each_batch(app, pg_engine, caplog):
    box = filled(LockCutDuringFirstFetch(engine=pg_engine))
    app = replace(app, mailbox_factory=lambda: box)
    caplog.set_level(logging.WARNING, logger="bot.intake.fetcher")

    report = drain_mailbox(app, app.pipeline)
    assert box.cut == 1 and report.lock_lost and report.handled == BATCH
    assert any(r.getMessage().startswith("lost the fetch lock") for r in caplog.records)

    report = drain_mailbox(app, app.pipeline)   # the next run takes the lock afresh and finishes
    assert not report.lock_lost and report.handled == 2 * BATCH
    assert stored(pg_engine) == 3 * BATCH


def test_the_watcher_ends_its_pass_and_asks_for_the_lock_again(app, pg_engine, caplog):
    box = filled(LockCutDuringFirstFetch(engine=pg_engine))
    watcher = MailboxWatcher(replace(app, mailbox_factory=lambda: box), notify=lambda: None)
    caplog.set_level(logging.INFO)
    watcher.start()
    try:
        deadline = time.monotonic() + 20
        while stored(pg_engine) < 3 * BATCH and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watcher.stop()
        watcher.join(10)
    assert box.cut == 1 and stored(pg_engine) == 3 * BATCH and seen(box) == list(range(1, 3 * BATCH + 1))
    said = [r.getMessage() for r in caplog.records if r.name in ("bot.service.watcher", "bot.intake.fetcher")]
    assert [m for m in said if m.startswith(("became the fetcher", "lost the fetch lock"))] == [
        "became the fetcher", "lost the fetch lock: stopping the pass with 4 message(s) left",
        "lost the fetch lock (its database connection is gone); asking for it again", "became the fetcher"]
