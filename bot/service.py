"""The running bot: mailbox watcher (IDLE or polling), outbox sender, SLA scheduler and staff console."""
from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.app import App
from bot.drafts.actions import run_pending_actions
from bot.fetcher import FetchReport, drain_folder
from bot.mail.imap import CONNECTION_ERRORS
from bot.pipeline.context import MessageContext
from bot.pipeline.runner import Pipeline
from bot.sender import SendReport
from bot.sla.scheduler import start_scheduler
from bot.web.serve import serve_web
from bot.web.settings import web_settings

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    fetched: FetchReport
    sent: SendReport


def drain_mailbox(app: App, pipeline: Pipeline) -> FetchReport:
    imap = app.settings.imap
    mailbox = app.mailbox_factory()
    try:
        if imap.processed_folder and not pipeline.dry_run:
            mailbox.ensure_folder(imap.processed_folder)
        return drain_folder(mailbox, pipeline, folder=imap.folder, batch_size=imap.batch_size,
                            move_to=imap.processed_folder)
    finally:
        mailbox.close()


def run_once(app: App, *, dry_run: bool = False,
             observer: Callable[[MessageContext], None] | None = None) -> RunReport:
    """Drain the mailbox, then the outbox; connection errors propagate to the caller.

    With dry_run, every message is handled and reported to `observer`, then rolled back:
    nothing is stored, flagged, moved or sent."""
    pipeline = replace(app.pipeline, dry_run=dry_run, observer=observer)
    fetched = drain_mailbox(app, pipeline)
    if dry_run:
        return RunReport(fetched, SendReport())
    run_pending_actions(app.sessions, app.settings, app.clock)
    sent = asyncio.run(app.drain_outbox())
    return RunReport(fetched, sent)


class MailboxWatcher(threading.Thread):
    """Keeps one IMAP connection: drain, then IDLE (or sleep) until news; reconnect with backoff."""

    def __init__(self, app: App, notify: Callable[[], None]) -> None:
        super().__init__(name="mailbox-watcher", daemon=True)
        self.app, self.notify, self.stop_event = app, notify, threading.Event()
        self.failures = 0

    def run(self) -> None:
        imap = self.app.settings.imap
        while not self.stop_event.is_set():
            try:
                mailbox = self.app.mailbox_factory()
            except CONNECTION_ERRORS as exc:
                self._back_off(exc)
                continue
            try:
                if imap.processed_folder:
                    mailbox.ensure_folder(imap.processed_folder)
                while not self.stop_event.is_set():
                    report = drain_folder(mailbox, self.app.pipeline, folder=imap.folder,
                                          batch_size=imap.batch_size, move_to=imap.processed_folder)
                    self.failures = 0
                    if report.handled:
                        log.info("handled %d message(s): %s", report.handled, dict(report.outcomes))
                        self.notify()
                    mailbox.wait_for_news(imap.poll_seconds, self.stop_event)
            except CONNECTION_ERRORS as exc:
                self._back_off(exc)
            except Exception:  # noqa: BLE001 - e.g. the database is briefly away: retry, never die
                log.exception("mailbox watcher error")
                self._back_off(None)
            finally:
                mailbox.close()

    def _back_off(self, exc: BaseException | None) -> None:
        self.failures += 1
        delay = min(60.0, 2.0 ** min(self.failures, 6)) * random.uniform(0.5, 1.0)
        log.warning("IMAP connection problem (%s); retrying in %.0fs",
                    type(exc).__name__ if exc else "error", delay)
        self.stop_event.wait(delay)

    def stop(self) -> None:
        self.stop_event.set()


async def run_forever(app: App, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    notify = lambda: loop.call_soon_threadsafe(wake.set)  # noqa: E731
    watcher = MailboxWatcher(app, notify=notify)
    web_stop = asyncio.Event()
    web = asyncio.create_task(serve_web(app, web_stop)) if web_settings(app.settings).enabled else None
    watcher.start()
    scheduler = start_scheduler(app, loop=loop, notify=notify)
    try:
        while not stop.is_set():
            if web is not None and web.done():
                web.result()  # the console failed (e.g. its port is taken): stop with its error
            wake.clear()
            try:
                await asyncio.to_thread(run_pending_actions, app.sessions, app.settings, app.clock)
                await app.drain_outbox()
            except Exception:  # noqa: BLE001 - the database may be briefly away; try again soon
                log.exception("outbox error")
            waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=15, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
    finally:
        scheduler.shutdown(wait=False)
        web_stop.set()
        if web is not None:
            await asyncio.gather(web, return_exceptions=True)
        watcher.stop()
        await asyncio.to_thread(watcher.join, 10)
