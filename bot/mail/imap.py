"""The IMAP edge (imapclient): select, list new UIDs, fetch, mark handled, wait with IDLE."""
from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from bot.config import ImapSettings
from bot.mail.login import imap_login, tls_context
from bot.mail.oauth import TokenError

# Errors that mean "the connection is gone or unusable": reconnect and carry on (also when
# no OAuth2 token could be had: the provider may answer next time).
CONNECTION_ERRORS = (IMAPClientError, OSError, ssl.SSLError, socket.timeout, EOFError, TokenError)

# Of a message too large to download, at most this much of its header is read.
HEADER_LIMIT = 65_536

# A connection that a NAT or firewall forgot answers nothing, not even a reset: keepalive probes
# find it dead after a minute idle (30 s, then 3 probes 10 s apart), not Linux's two hours.
KEEPALIVE_OPTIONS = {"TCP_KEEPIDLE": 30, "TCP_KEEPINTVL": 10, "TCP_KEEPCNT": 3}
# The longest wait for the server's answer to IDLE or DONE: a live server answers at once.
IDLE_REPLY_SECONDS = 10


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    raw: bytes                    # the whole message, or only its header when complete is False
    arrived_at: datetime | None
    size: int | None = None       # RFC822.SIZE as the server reports it
    complete: bool = True         # False: over the size limit, only the header was fetched


class Mailbox(Protocol):
    """What the fetcher needs from a mail source; IMAP in production, in-memory in unit tests."""

    def ensure_folder(self, folder: str) -> None: ...
    def select(self, folder: str) -> int: ...            # returns UIDVALIDITY
    def uids_after(self, last_uid: int) -> list[int]: ...
    def fetch(self, uids: list[int], max_bytes: int = 0) -> list[FetchedMessage]: ...  # 0: no size limit
    def mark_handled(self, uids: list[int], *, move_to: str = "") -> None: ...
    def wait_for_news(self, timeout: float, stop: threading.Event) -> bool: ...  # True: news
    def close(self) -> None: ...


class ImapMailbox:
    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.client = connect(settings)
        self.capabilities = set(self.client.capabilities())
        self.folder, self.uidnext = "", 0   # the selected folder, and its UIDNEXT when the drain began
        self.probe: IMAPClient | None = None   # a second connection, to look while the first one IDLEs

    def ensure_folder(self, folder: str) -> None:
        if folder and not self.client.folder_exists(folder):
            self.client.create_folder(folder)

    def select(self, folder: str) -> int:
        info = self.client.select_folder(folder)
        self.folder, self.uidnext = folder, int(info.get(b"UIDNEXT", 0))
        return int(info[b"UIDVALIDITY"])

    def uids_after(self, last_uid: int) -> list[int]:
        # "n:*" always matches the highest UID, even below n, hence the filter.
        return sorted(uid for uid in self.client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)

    def fetch(self, uids: list[int], max_bytes: int = 0) -> list[FetchedMessage]:
        """The messages; one over max_bytes (by RFC822.SIZE) is not downloaded, only its header."""
        meta = self.client.fetch(uids, ["RFC822.SIZE", "INTERNALDATE"]) if uids else {}
        sizes = {uid: item.get(b"RFC822.SIZE") for uid, item in meta.items()}
        big = {uid for uid, size in sizes.items() if max_bytes and isinstance(size, int) and size > max_bytes}
        # BODY.PEEK leaves \Seen alone: we set it ourselves once the message is committed.
        small = sorted(set(meta) - big)
        data = dict(self.client.fetch(small, ["BODY.PEEK[]"])) if small else {}
        if big:
            data.update(self.client.fetch(sorted(big), [f"BODY.PEEK[HEADER]<0.{HEADER_LIMIT}>"]))
        out = []
        for uid in sorted(data):   # a message expunged meanwhile is simply not there
            item, arrived = data[uid], meta.get(uid, {}).get(b"INTERNALDATE")
            # The key is BODY[] or, for a partial fetch, BODY[HEADER]<0>.
            raw = next((value for key, value in item.items() if key.startswith(b"BODY[")), None) or b""
            if isinstance(arrived, datetime):
                arrived = arrived.replace(tzinfo=timezone.utc) if arrived.tzinfo is None else arrived
            out.append(FetchedMessage(uid=uid, raw=bytes(raw), arrived_at=arrived, size=sizes.get(uid),
                                      complete=uid not in big))
        return out

    def mark_handled(self, uids: list[int], *, move_to: str = "") -> None:
        if not uids:
            return
        self.client.add_flags(uids, [b"\\Seen"], silent=True)
        if move_to:
            if b"MOVE" in self.capabilities:
                self.client.move(uids, move_to)
            else:
                # Without MOVE we copy and leave the original (flagged \Seen): never delete mail.
                self.client.copy(uids, move_to)

    def wait_for_news(self, timeout: float, stop: threading.Event) -> bool:
        """IDLE until the server reports a change, `timeout` passes or `stop` is set."""
        if b"IDLE" not in self.capabilities:
            stop.wait(timeout)
            return False
        self._promptly(self.client.idle)
        try:
            if self._arrived_before_idle():
                return True
            # Counted in checks, not by the clock: on a connection found dead (keepalive) every check
            # returns at once and empty, so the wait ends now and DONE fails on the broken pipe.
            waited = 0.0
            while waited < timeout and not stop.is_set():
                if self.client.idle_check(timeout=1):
                    return True
                waited += 1
            return False
        finally:
            self._promptly(self.client.idle_done)

    def _arrived_before_idle(self) -> bool:
        """Did mail come after the drain's SELECT and before IDLE began?

        IDLE reports only what arrives once it has begun; mail that came just before (or that was
        announced in the reply to a FETCH or STORE, where imapclient drops it) would wait for the
        next poll. IDLE has begun now, so a second connection's UIDNEXT past the SELECT's tells."""
        if not self.folder or not self.uidnext:
            return False
        for attempt in (1, 2):   # the probe may have been logged out while unused: once more, anew
            try:
                self.probe = self.probe or connect(self.settings)
                status = self.probe.folder_status(self.folder, [b"UIDNEXT"])
                return int(status[b"UIDNEXT"]) > self.uidnext
            except CONNECTION_ERRORS:
                self.probe = None
                if attempt == 2:
                    raise
        return False

    def _promptly(self, command: Callable[[], object]) -> None:
        """A live server answers IDLE and DONE at once: one that vanished must not hold us a whole timeout."""
        sock = self.client.socket()
        sock.settimeout(min(IDLE_REPLY_SECONDS, self.settings.timeout_seconds))
        command()
        sock.settimeout(self.settings.timeout_seconds)   # on an error the connection is dropped anyway

    def close(self) -> None:
        for client in filter(None, (self.client, self.probe)):
            try:
                client.logout()
            except CONNECTION_ERRORS:
                try:
                    client.shutdown()
                except CONNECTION_ERRORS:
                    pass


def connect(settings: ImapSettings) -> IMAPClient:
    """A logged-in connection, with TLS as configured and the keepalive below."""
    context = tls_context(settings.security, settings.cafile)
    client = IMAPClient(settings.host, port=settings.port, ssl=settings.security == "tls",
                        ssl_context=context, timeout=settings.timeout_seconds)
    enable_keepalive(client.socket())
    if settings.security == "starttls":
        client.starttls(context)
    imap_login(client, settings)
    return client


def enable_keepalive(sock: socket.socket) -> None:
    """SO_KEEPALIVE with the short timings above, where the platform has them."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, seconds in KEEPALIVE_OPTIONS.items():
        if hasattr(socket, name):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), seconds)
