"""The outbox sender in a process of its own: sending uses the second core while intake runs (#16)."""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal

from bot.service.app import App

log = logging.getLogger(__name__)


class SenderProcess:
    """Drains the outbox in a forked child whenever the bot pokes it, and every `idle_seconds` anyway.

    Forked before the bot starts its threads and event loop, so the child shares the parent's
    loaded code and settings and costs no start-up of its own. Sending stays exactly once
    with any number of senders (bot/outbox/sender.py claims each mail), so the child needs no
    coordination beyond a pipe: a byte means "mail may be due"; the pipe's end means "finish and
    exit", which also happens when the parent dies, however it dies."""

    def __init__(self, app: App, *, idle_seconds: float = 15.0) -> None:
        self.app, self.idle_seconds = app, idle_seconds
        self.process: multiprocessing.process.BaseProcess | None = None
        self._poke_fd = -1

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)   # a full pipe already says "mail may be due"
        self.process = multiprocessing.get_context("fork").Process(
            target=_serve, args=(self.app, read_fd, write_fd, self.idle_seconds), name="supportbot-sender",
            daemon=True)
        self.process.start()
        os.close(read_fd)
        self._poke_fd = write_fd

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def poke(self) -> None:
        try:
            os.write(self._poke_fd, b".")
        except BlockingIOError:
            pass

    def stop(self, timeout: float = 30.0) -> None:
        """Let the child finish what it is sending, then end it."""
        if self._poke_fd >= 0:
            os.close(self._poke_fd)
            self._poke_fd = -1
        if self.process is not None:
            self.process.join(timeout)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(5)


def _serve(app: App, read_fd: int, write_fd: int, idle_seconds: float) -> None:
    os.close(write_fd)   # else the pipe would never end while this child lives
    # Ctrl-C and SIGTERM reach the whole process group: the parent decides when this child stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    app.engine.dispose(close=False)   # the parent's pooled connections stay the parent's
    asyncio.run(_drain_when_poked(app, read_fd, idle_seconds))


async def _drain_when_poked(app: App, read_fd: int, idle_seconds: float) -> None:
    loop, poked, ended = asyncio.get_running_loop(), asyncio.Event(), False

    def readable() -> None:
        nonlocal ended
        if not os.read(read_fd, 4096):   # the parent stopped or died
            ended = True
            loop.remove_reader(read_fd)
        poked.set()

    loop.add_reader(read_fd, readable)
    while not ended:
        poked.clear()   # a poke while sending: another round right after
        try:
            await app.drain_outbox()
        except Exception:  # noqa: BLE001 - the database or the server may be briefly away: next round
            log.exception("outbox error")
        try:
            await asyncio.wait_for(poked.wait(), idle_seconds)
        except TimeoutError:
            pass   # mail due later (retries, the hourly limit) is sent without a poke
    os.close(read_fd)
