"""Locks between processes: one fetcher per database, taken over when it dies; schema made once."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.service.app import build_app
from bot.store.db import init_db, make_engine
from bot.store.locks import NoLock, fetch_lock, lock_key
from bot.store.models import InboundMessage
from bot.service.watcher import MailboxWatcher
from tests.conftest import POSTGRES_URL, REPO, _postgres_reachable
from tests.support.memory_mailbox import MemoryMailbox
from tests.support import mailgen


@dataclass
class SharedDatabase:
    """One database as several processes see it: a URL, its connect options, an engine per "process"."""

    url: str
    connect_args: dict
    engines: list[Engine]

    def child(self, code: str, *args: str) -> subprocess.Popen:
        """A real process running `code` with `engine` made the way the bot would make it."""
        prelude = ("import sys, time\nfrom bot.store.db import init_db, make_engine\nfrom bot.store.locks import fetch_lock\n"
                   f"engine = make_engine({self.url!r}, connect_args={self.connect_args!r})\n")
        return subprocess.Popen([sys.executable, "-c", prelude + code, *args], cwd=REPO, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture(params=["sqlite-file", "postgresql"])
def shared(request, tmp_path):
    if request.param == "sqlite-file":
        url, connect_args, schema = f"sqlite:///{tmp_path / 'bot.store.db'}", {"timeout": 30}, None
    else:
        if not _postgres_reachable():
            pytest.skip("PostgreSQL not reachable at " + POSTGRES_URL)
        url, schema = POSTGRES_URL, f"sb_lock_{uuid.uuid4().hex[:10]}"
        connect_args = {"options": f"-csearch_path={schema}"}
        with make_engine(url).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    db = SharedDatabase(url, connect_args, [make_engine(url, connect_args=connect_args) for _ in range(2)])
    yield db
    for engine in db.engines:
        engine.dispose()
    if schema:
        with make_engine(url).begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def wait_for(predicate, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_one_holder_at_a_time(shared):
    mine, theirs = (fetch_lock(engine) for engine in shared.engines)
    assert mine.acquire() and mine.acquire()            # asking again while holding it is fine
    assert not theirs.acquire() and not theirs.held()
    assert mine.held()
    mine.release()
    assert not mine.held()
    assert theirs.acquire() and not mine.acquire()
    theirs.release()


def test_in_memory_database_needs_no_lock():
    engine = make_engine("sqlite://")
    assert isinstance(fetch_lock(engine), NoLock)


def test_the_lock_of_a_killed_process_is_taken_over(shared):
    holder = shared.child("lock = fetch_lock(engine)\nprint(lock.acquire(), flush=True)\ntime.sleep(600)\n")
    try:
        assert holder.stdout.readline().strip() == "True"
        mine = fetch_lock(shared.engines[0])
        assert not mine.acquire()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        assert wait_for(mine.acquire), "the lock of a killed process was never freed"
        mine.release()
    finally:
        holder.kill()
        holder.wait(10)


def test_postgres_lock_is_lost_with_its_connection(shared):
    if shared.engines[0].dialect.name != "postgresql":
        pytest.skip("a file lock has no connection to lose")
    mine, theirs = (fetch_lock(engine) for engine in shared.engines)
    assert mine.acquire()
    with shared.engines[1].connect() as conn:   # what a database restart or a cut connection does
        key = lock_key(conn, "fetch")
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                          "AND ((classid::bigint << 32) | objid::bigint) = :key "   # this database's only
                          "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
                     {"key": key})
        conn.commit()
    assert not mine.held()
    assert theirs.acquire()
    theirs.release()


def test_processes_starting_together_create_the_schema_once(shared):
    # Each waits for a common moment after its imports, so that their upgrades really overlap.
    start_at = str(time.time() + 4)
    code = ("start = float(sys.argv[1])\ntime.sleep(max(0, start - time.time()))\n"
            "init_db(engine)\nprint('ready')\n")
    children = [shared.child(code, start_at) for _ in range(3)]
    results = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0, 0], [err[-800:] for _, err in results]
    with shared.engines[0].connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    init_db(shared.engines[0])   # and a later start finds it done


def _stored(engine: Engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(InboundMessage)).one()


def test_only_the_lock_holder_watches_and_a_waiting_watcher_takes_over(shared, settings, clock, caplog):
    caplog.set_level(logging.INFO, logger="bot.service.watcher")
    init_db(shared.engines[0])
    box = MemoryMailbox()
    first = build_app(settings, engine=shared.engines[0], clock=clock, mailbox_factory=lambda: box,
                      create_schema=False)
    second = build_app(settings, engine=shared.engines[1], clock=clock, mailbox_factory=lambda: box,
                       classifier=first.classifier, create_schema=False)
    watchers = [MailboxWatcher(first, notify=lambda: None), MailboxWatcher(second, notify=lambda: None)]
    for name, watcher in zip(("first", "second"), watchers):
        watcher.name = name

    def said(name: str, words: str) -> bool:
        return any(r.threadName == name and r.getMessage().startswith(words) for r in caplog.records)

    try:
        box.add(mailgen.request(1))
        watchers[0].start()
        assert wait_for(lambda: _stored(first.engine) == 1)
        watchers[1].start()
        assert wait_for(lambda: said("second", "waiting: another process fetches"))
        box.add(mailgen.request(2))
        assert wait_for(lambda: _stored(first.engine) == 2)
        watchers[0].stop()
        watchers[0].join(10)        # a process that ends lets go of the lock
        box.add(mailgen.request(3))
        assert wait_for(lambda: _stored(first.engine) == 3)
        assert said("second", "became the fetcher")
    finally:
        for watcher in watchers:
            watcher.stop()
            if watcher.is_alive():
                watcher.join(10)
    assert said("first", "became the fetcher") and not said("first", "waiting")
    assert sorted(uid for uid, flags in box.flags.items() if "\\Seen" in flags) == [1, 2, 3]
