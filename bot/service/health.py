"""Is the bot well: the database answers, and this process's mailbox watcher keeps finishing rounds."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine


class WatcherLiveness:
    """What the mailbox watcher of this process last did; the thread writes, /healthz reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started_at: datetime | None = None
        self.last_drain: datetime | None = None

    def started(self, at: datetime) -> None:
        with self._lock:
            self.started_at, self.last_drain = at, None

    def drained(self, at: datetime) -> None:
        with self._lock:
            self.last_drain = at

    def stopped(self) -> None:
        with self._lock:
            self.started_at = self.last_drain = None

    def snapshot(self) -> tuple[datetime | None, datetime | None]:
        """(started_at, last_drain); started_at None: no watcher runs in this process."""
        with self._lock:
            return self.started_at, self.last_drain


# One per process: `supportbot run` has one watcher, `supportbot web` none.
WATCHER = WatcherLiveness()


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def database_check(engine: Engine) -> Check:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means the database does not answer
        return Check("database", False, f"no answer ({type(exc).__name__})")
    return Check("database", True, "answers")


def watcher_check(liveness: WatcherLiveness, now: datetime, stale_seconds: float) -> Check | None:
    """None when no watcher runs here; otherwise whether it finished a round within `stale_seconds`.

    A watcher that has not finished its first round yet is measured from its start."""
    started, last = liveness.snapshot()
    if started is None:
        return None
    since = last or started
    age = (now - since).total_seconds()
    if age <= stale_seconds:
        return Check("mailbox_watcher", True, f"last round {age:.0f}s ago" if last else "starting")
    what = f"no round finished for {age:.0f}s" if last else f"no round finished since start {age:.0f}s ago"
    return Check("mailbox_watcher", False, f"{what} (limit {stale_seconds:.0f}s)")


def health(engine: Engine, liveness: WatcherLiveness, now: datetime, stale_seconds: float) -> tuple[bool, list[Check]]:
    checks = [database_check(engine)]
    watcher = watcher_check(liveness, now, stale_seconds)
    if watcher is not None:
        checks.append(watcher)
    return all(check.ok for check in checks), checks
