"""An embedded IMAP server (pymap's in-memory backend) on loopback, for the demo and as a test fallback."""
from __future__ import annotations

import asyncio
import socket
import threading
from argparse import Namespace
from contextlib import AsyncExitStack

from imapclient import IMAPClient
from pymap.backend.dict import DictBackend
from pymap.imap import IMAPService


def _free_port(host: str) -> int:
    # pymap listens by port number, so one is chosen here (bound to 0, then released).
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class EmbeddedImapServer:
    def __init__(self, *, username: str = "support@esl.example", password: str = "demo",
                 host: str = "127.0.0.1") -> None:
        self.host, self.port = host, _free_port(host)
        self.username, self.password = username, password
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="imap-demo", daemon=True)

    def start(self) -> EmbeddedImapServer:
        self._thread.start()
        if not self._ready.wait(15) or self._error:
            raise RuntimeError(f"embedded IMAP server did not start: {self._error}")
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        args = Namespace(debug=False, demo_data=False, demo_user=self.username,
                         demo_password=self.password, host=[self.host], port=str(self.port),
                         cert=None, key=None, tls=False, inherited_sockets=None, proxy_protocol=None,
                         passlib_cfg=None, skip_services=[])
        backend, config = await DictBackend.init(args)
        config.apply_context()
        async with AsyncExitStack() as stack:
            await backend.start(stack)
            await IMAPService(backend, config).start(stack)
            self._ready.set()
            await self._stop.wait()

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        with IMAPClient(self.host, port=self.port, ssl=False, timeout=30) as client:
            client.login(self.username, self.password)
            client.append(folder, raw)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def __enter__(self) -> EmbeddedImapServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
