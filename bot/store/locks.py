"""Locks between processes sharing one database: one mailbox fetcher at a time, one schema upgrade at a time."""
from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError


class FetchLock(Protocol):
    def acquire(self) -> bool: ...   # without waiting; True when this process holds it
    def held(self) -> bool: ...      # still ours? A PostgreSQL lock goes with its connection
    def release(self) -> None: ...


class PostgresAdvisoryLock:
    """A session-level advisory lock on a connection of its own: the server drops it when the process dies."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine, self.name = engine, name
        self._conn: Connection | None = None
        self._key = 0

    def acquire(self) -> bool:
        if self._conn is not None:
            return self.held()
        # Autocommit: a connection held for hours must not sit "idle in transaction".
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            key = lock_key(conn, self.name)
            if conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
                self._conn, self._key = conn, key
                return True
        except BaseException:
            conn.close()
            raise
        conn.close()
        return False

    def held(self) -> bool:
        if self._conn is None:
            return False
        try:
            return bool(self._conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
                "AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = :key"),
                {"key": self._key}).scalar())
        except DBAPIError:  # the connection is gone, and the lock with it
            self._drop()
            return False

    def release(self) -> None:
        if self._conn is not None:
            with suppress(DBAPIError):   # a lost connection has released it already
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        with suppress(DBAPIError):
            conn.close()


class FileLock:
    """flock(2) on a file beside the SQLite database: processes on one host; the kernel drops it on exit."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, *, wait: bool = False) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)   # closing the only descriptor releases the flock


class NoLock:
    """An in-memory database belongs to one process: there is nobody to exclude."""

    def acquire(self, *, wait: bool = False) -> bool:
        return True

    def held(self) -> bool:
        return True

    def release(self) -> None:
        pass


def fetch_lock(engine: Engine) -> FetchLock:
    """The lock a process must hold to read the mailbox into this database."""
    if engine.dialect.name == "postgresql":
        return PostgresAdvisoryLock(engine, "fetch")
    path = _sqlite_file(engine)
    return FileLock(f"{path}.fetch.lock") if path else NoLock()


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Held while the schema is created or upgraded, so that processes starting together take turns."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            key = lock_key(conn, "schema")
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        return
    lock = FileLock(f"{path}.schema.lock") if (path := _sqlite_file(engine)) else NoLock()
    lock.acquire(wait=True)
    try:
        yield
    finally:
        lock.release()


def lock_key(conn: Connection, name: str) -> int:
    """A 63-bit key per schema (advisory locks are per database already): schemas never collide."""
    where = conn.execute(text("SELECT current_schema()")).scalar()
    digest = hashlib.sha256(f"supportbot:{name}:{where}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2 ** 63 - 1)


def _sqlite_file(engine: Engine) -> str | None:
    database = engine.url.database
    if not database or database == ":memory:" or "mode=memory" in str(engine.url):
        return None
    return os.path.abspath(database.removeprefix("file:").split("?")[0])
