"""A recording SMTP server (aiosmtpd) on loopback, able to fail on demand; for the demo and tests."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, Envelope, Session

from bot.clock import Clock, SystemClock


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    raw: bytes
    arrived: float = 0.0    # the recorder's clock.monotonic() on acceptance (for latency figures)
    peer: tuple = ()        # the client's (host, port): one per SMTP connection

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)


@dataclass
class _Handler:
    received: list[ReceivedMail] = field(default_factory=list)
    fail_reply: str | None = None      # e.g. "451 4.3.0 try later"; None accepts
    fail_count: int = 0                # how many more messages to fail (-1: until told otherwise)
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: Clock = field(default_factory=SystemClock)
    # Called with each accepted mail before the 250 reply, as a server that files a copy of
    # what it accepts (e.g. into a Sent folder) would; an exception turns into a 451.
    on_accept: Callable[[ReceivedMail], None] | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            if self.fail_reply and self.fail_count != 0:
                self.fail_count -= 1 if self.fail_count > 0 else 0
                return self.fail_reply
            raw = envelope.original_content or envelope.content
            mail = ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), bytes(raw), self.clock.monotonic(),
                                tuple(session.peer or ()))
            if self.on_accept is not None:
                try:
                    self.on_accept(mail)
                except Exception as exc:  # noqa: BLE001 - a failed filing is a failed acceptance
                    return f"451 4.3.0 could not file the copy ({type(exc).__name__})"
            self.received.append(mail)
        return "250 2.0.0 Message accepted"


class RecordingSmtpServer:
    """Binds to port 0 on 127.0.0.1 in its own thread; `port` is known after start()."""

    def __init__(self, host: str = "127.0.0.1", *, port: int = 0,
                 on_accept: Callable[[ReceivedMail], None] | None = None, clock: Clock | None = None,
                 smtputf8: bool = True) -> None:
        self.host, self.port = host, port   # port 0: any free port; a fixed one to come back after stop()
        self.smtputf8 = smtputf8            # False: a server that does not offer SMTPUTF8 (RFC 6531)
        self.handler = _Handler(on_accept=on_accept, clock=clock or SystemClock())
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="smtp-recorder", daemon=True)

    def start(self) -> RecordingSmtpServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        self._server = future.result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self) -> asyncio.AbstractServer:
        return await self._loop.create_server(
            lambda: SMTP(self.handler, hostname="recorder.test", enable_SMTPUTF8=self.smtputf8), self.host, self.port)

    @property
    def received(self) -> list[ReceivedMail]:
        with self.handler.lock:
            return list(self.handler.received)

    def fail(self, reply: str = "451 4.3.0 Temporary failure, try again", count: int = -1) -> None:
        """Refuse the next `count` messages with `reply` (-1: every one until accept_all())."""
        with self.handler.lock:
            self.handler.fail_reply, self.handler.fail_count = reply, count

    def accept_all(self) -> None:
        with self.handler.lock:
            self.handler.fail_reply, self.handler.fail_count = None, 0

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> RecordingSmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
