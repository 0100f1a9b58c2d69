"""The running bot: mailbox watcher, outbox sender, SLA scheduler and staff console; or one pass of it."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.service.app import App
from bot.drafts.actions import run_pending_actions
from bot.intake.fetcher import FetchReport, drain_folder
from bot.store.locks import NoLock, fetch_lock
from bot.mail.context import MessageContext
from bot.intake.runner import Pipeline
from bot.outbox.sender import SendReport
from bot.service.watcher import MailboxWatcher

if TYPE_CHECKING:
    from bot.service.sender_process import SenderProcess

log = logging.getLogger(__name__)

@dataclass
class RunReport:
    fetched: FetchReport
    sent: SendReport


def drain_mailbox(app: App, pipeline: Pipeline, *, committed: Callable[[], None] = lambda: None) -> FetchReport:
    """One pass over the mailbox, unless another process is the fetcher (a dry run needs no lock)."""
    imap = app.settings.imap
    lock = NoLock() if pipeline.dry_run else fetch_lock(app.engine)
    if not lock.acquire():
        log.warning("another process fetches: the mailbox is left to it")
        return FetchReport()
    try:
        mailbox = app.mailbox_factory()
        try:
            if imap.processed_folder and not pipeline.dry_run:
                mailbox.ensure_folder(imap.processed_folder)
            return drain_folder(mailbox, pipeline, folder=imap.folder, batch_size=imap.batch_size,
                                move_to=imap.processed_folder, still_held=lock.held, committed=committed)
        finally:
            mailbox.close()
    finally:
        lock.release()


def run_once(app: App, *, dry_run: bool = False, observer: Callable[[MessageContext], None] | None = None,
             sender: SenderProcess | None = None) -> RunReport:
    """Drain the mailbox, then the outbox; connection errors propagate to the caller.

    With `sender` (started), its process sends each batch's mail as the batch commits, and this
    returns once it has sent what is due. With dry_run, every message is handled and reported to
    `observer`, then rolled back: nothing is stored, flagged, moved or sent."""
    pipeline = replace(app.pipeline, dry_run=dry_run, observer=observer)
    try:
        fetched = drain_mailbox(app, pipeline, committed=sender.poke if sender is not None else lambda: None)
        if not dry_run:
            run_pending_actions(app.sessions, app.settings, app.clock)
    finally:
        sent = sender.stop() if sender is not None else None   # its last round sends what is queued now
    if dry_run:
        return RunReport(fetched, SendReport())
    if sent is None:   # no sender process, or it ended without a report: send from here
        sent = asyncio.run(app.drain_outbox())
    return RunReport(fetched, sent)


# Serves the staff console until its event is set; handed in by the CLI, which sits above the web package.
Console = Callable[[App, asyncio.Event], Awaitable[None]]


async def run_forever(app: App, stop: asyncio.Event, *, console: Console | None = None,
                      sender: SenderProcess | None = None) -> None:
    """Until `stop`: the watcher fetches, the scheduler runs the SLA jobs, and the outbox is drained
    whenever they queued mail (by `sender`'s process when there is one and it lives, else here)."""
    from bot.service.scheduler import start_scheduler   # APScheduler and the SLA jobs: not for run_once
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    notify = lambda: loop.call_soon_threadsafe(wake.set)  # noqa: E731
    watcher = MailboxWatcher(app, notify=notify)
    web_stop = asyncio.Event()
    web = asyncio.create_task(console(app, web_stop)) if console is not None else None
    watcher.start()
    scheduler = start_scheduler(app, loop=loop, notify=notify)
    try:
        while not stop.is_set():
            if web is not None and web.done():
                web.result()  # the console failed (e.g. its port is taken): stop with its error
            wake.clear()
            try:
                await asyncio.to_thread(run_pending_actions, app.sessions, app.settings, app.clock)
                if sender is not None and sender.alive():
                    sender.poke()
                else:
                    if sender is not None:
                        log.error("the sender process ended (exit code %s): sending from here", sender.process.exitcode)
                        sender = None
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
        if sender is not None:
            await asyncio.to_thread(sender.stop)
