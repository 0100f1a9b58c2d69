"""The mailbox watcher thread: while this process is the fetcher, drain then IDLE (or poll); reconnect with backoff."""
from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

from bot.service.app import App
from bot.intake.fetcher import drain_folder
from bot.service.health import WATCHER
from bot.store.locks import FetchLock, fetch_lock
from bot.mail.imap import CONNECTION_ERRORS

log = logging.getLogger(__name__)

BACKOFF_CAP_SECONDS = 16.0   # jittered to 8-16 s: a server back up is found well within 30 s
LOCK_RETRY_SECONDS = 3.0     # how soon a waiting process takes over from a fetcher that died


class MailboxWatcher(threading.Thread):
    """While this process holds the fetch lock, keeps one IMAP connection: drain, then IDLE (or sleep)
    until news; reconnect with backoff. Without the lock it waits and asks again every few seconds."""

    def __init__(self, app: App, notify: Callable[[], None], lock: FetchLock | None = None) -> None:
        super().__init__(name="mailbox-watcher", daemon=True)
        self.app, self.notify, self.stop_event = app, notify, threading.Event()
        self.lock = lock or fetch_lock(app.engine)
        self.failures = 0
        self.fetching: bool | None = None   # None until the first answer, so each change is logged once

    def run(self) -> None:
        WATCHER.started(self.app.clock.now())   # /healthz now expects rounds from this watcher
        while not self.stop_event.is_set():
            if not self._claim_lock():
                self.stop_event.wait(LOCK_RETRY_SECONDS)
                continue
            try:
                self._watch()
            finally:
                self.lock.release()
        WATCHER.stopped()

    def _watch(self) -> None:
        imap = self.app.settings.imap
        while self._still_fetcher():
            try:
                mailbox = self.app.mailbox_factory()
            except CONNECTION_ERRORS as exc:
                self._back_off(exc)
                continue
            try:
                if imap.processed_folder:
                    mailbox.ensure_folder(imap.processed_folder)
                while self._still_fetcher():
                    report = drain_folder(mailbox, self.app.pipeline, folder=imap.folder, batch_size=imap.batch_size,
                                          move_to=imap.processed_folder, still_held=self.lock.held,
                                          committed=self.notify)   # a backlog's mail goes out as it is read
                    self.failures = 0
                    WATCHER.drained(self.app.clock.now())
                    if report.handled:
                        log.info("handled %d message(s): %s", report.handled, dict(report.outcomes))
                        self.notify()
                    if not report.lock_lost:   # lost: straight back to asking for the lock
                        mailbox.wait_for_news(imap.poll_seconds, self.stop_event)
            except CONNECTION_ERRORS as exc:
                self._back_off(exc)
            except Exception:  # noqa: BLE001 - e.g. the database is briefly away: retry, never die
                log.exception("mailbox watcher error")
                self._back_off(None)
            finally:
                mailbox.close()

    def _claim_lock(self) -> bool:
        try:
            fetching = self.lock.acquire()
            WATCHER.drained(self.app.clock.now())   # a standby is well too: it knows another fetches
        except Exception:  # noqa: BLE001 - the database is away: nobody fetches until it is back
            log.exception("could not ask for the fetch lock")
            return False
        if fetching != self.fetching:
            log.info("became the fetcher" if fetching else "waiting: another process fetches")
            self.fetching = fetching
        return fetching

    def _still_fetcher(self) -> bool:
        """Checked before every drain: a PostgreSQL lock is lost with its connection, and may be taken."""
        if self.stop_event.is_set():
            return False
        if self.lock.held():
            return True
        if self.fetching:   # once, though both loops of _watch ask
            log.warning("lost the fetch lock (its database connection is gone); asking for it again")
        self.fetching = None
        return False

    def _back_off(self, exc: BaseException | None) -> None:
        # Capped low: once the server is back, the next attempt comes within BACKOFF_CAP_SECONDS.
        self.failures += 1
        delay = min(BACKOFF_CAP_SECONDS, 2.0 ** min(self.failures, 6)) * random.uniform(0.5, 1.0)
        log.warning("IMAP connection problem (%s); retrying in %.0fs",
                    type(exc).__name__ if exc else "error", delay)
        self.stop_event.wait(delay)

    def stop(self) -> None:
        self.stop_event.set()
