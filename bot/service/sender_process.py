"""The outbox sender in a process of its own: sending uses the second core while intake runs (#16)."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing
import os
import signal
from multiprocessing.connection import Connection

from bot.outbox.results import SendReport
from bot.service.app import App

log = logging.getLogger(__name__)


class SenderProcess:
    """Drains the outbox in a forked child whenever the bot pokes it, and every `idle_seconds` anyway.

    Forked before the bot starts its threads and event loop, so the child shares the parent's
    loaded code and settings and costs no start-up of its own. Sending stays exactly once
    with any number of senders (bot/outbox/sender.py claims each mail), so the child needs no
    coordination beyond a pipe: a byte means "mail may be due"; the pipe's end means "send what
    is due, then exit", which also happens when the parent dies, however it dies."""

    def __init__(self, app: App, *, idle_seconds: float = 15.0) -> None:
        self.app, self.idle_seconds = app, idle_seconds
        self.process: multiprocessing.process.BaseProcess | None = None
        self._poke_fd = -1
        self._reports: Connection | None = None

    def start(self) -> None:
        context = multiprocessing.get_context("fork")
        # No database connection may cross the fork: a child that closes an inherited SQLite one
        # (as garbage collection does) can checkpoint a WAL that other processes write to, and a
        # bot killed under load was seen to corrupt its database. The parent reconnects when next used.
        self.app.engine.dispose()
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)   # a full pipe already says "mail may be due"
        self._reports, report_end = context.Pipe(duplex=False)
        self.process = context.Process(target=_serve, args=(self.app, read_fd, write_fd, report_end,
                                                            self.idle_seconds), name="supportbot-sender", daemon=True)
        self.process.start()
        os.close(read_fd)
        report_end.close()
        self._poke_fd = write_fd

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def poke(self) -> None:
        try:
            os.write(self._poke_fd, b".")
        except BlockingIOError:
            pass

    def stop(self, timeout: float = 60.0) -> SendReport | None:
        """Let the child send what is due and end; what it sent in all (None: it could not say)."""
        if self._poke_fd >= 0:
            os.close(self._poke_fd)
            self._poke_fd = -1
        report = None
        if self._reports is not None:
            if self._reports.poll(timeout):
                try:
                    report = self._reports.recv()
                except EOFError:
                    pass   # it died without a word: the outbox rows still say what was sent
            self._reports.close()
            self._reports = None
        if self.process is not None:
            self.process.join(5)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(5)
        return report


def _serve(app: App, read_fd: int, write_fd: int, reports: Connection, idle_seconds: float) -> None:
    os.close(write_fd)   # else the pipe would never end while this child lives
    # Ctrl-C and SIGTERM reach the whole process group: the parent decides when this child stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    app.engine.dispose(close=False)   # none was pooled at the fork; were one, it stays the parent's
    reports.send(asyncio.run(_drain_when_poked(app, read_fd, idle_seconds)))


async def _drain_when_poked(app: App, read_fd: int, idle_seconds: float) -> SendReport:
    loop, poked, ended, total = asyncio.get_running_loop(), asyncio.Event(), False, SendReport()

    def readable() -> None:
        nonlocal ended
        if not os.read(read_fd, 4096):   # the parent is done, or died
            ended = True
            loop.remove_reader(read_fd)
        poked.set()

    loop.add_reader(read_fd, readable)
    while True:
        finishing = ended   # the end seen before this round began: it is the last
        poked.clear()   # a poke while sending: another round right after
        try:
            report = await app.drain_outbox()
            for field in dataclasses.fields(report):
                setattr(total, field.name, getattr(total, field.name) + getattr(report, field.name))
        except Exception:  # noqa: BLE001 - the database or the server may be briefly away: next round
            log.exception("outbox error")
        if finishing:
            break   # what was queued before the end is sent
        try:
            await asyncio.wait_for(poked.wait(), idle_seconds)
        except TimeoutError:
            pass   # mail due later (retries, the hourly limit) is sent without a poke
    os.close(read_fd)
    return total
