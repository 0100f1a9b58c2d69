"""An in-memory Mailbox for unit tests: UIDs, flags, UIDVALIDITY changes and injected crashes."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime

from bot.mail.imap import FetchedMessage


class Crash(ConnectionError):
    """Stands in for a dropped connection or a killed process at a chosen point."""


@dataclass
class MemoryMailbox:
    uidvalidity: int = 1
    messages: dict[int, bytes] = field(default_factory=dict)
    flags: dict[int, set[str]] = field(default_factory=dict)
    moved: dict[str, list[int]] = field(default_factory=dict)
    next_uid: int = 1
    crash_after_fetches: int | None = None   # raise Crash once this many messages were fetched
    crash_on_mark: bool = False
    fetched_count: int = 0
    arrived_at: datetime | None = None

    def add(self, raw: bytes) -> int:
        uid, self.next_uid = self.next_uid, self.next_uid + 1
        self.messages[uid], self.flags[uid] = raw, set()
        return uid

    def renumber(self) -> None:
        """What a server does when it resets UIDVALIDITY: same messages, new UIDs."""
        old = [self.messages[uid] for uid in sorted(self.messages)]
        self.uidvalidity += 1
        self.messages, self.flags, self.next_uid = {}, {}, 1
        for raw in old:
            self.add(raw)

    # The Mailbox protocol
    def ensure_folder(self, folder: str) -> None:
        self.moved.setdefault(folder, [])

    def select(self, folder: str) -> int:
        return self.uidvalidity

    def uids_after(self, last_uid: int) -> list[int]:
        return sorted(uid for uid in self.messages if uid > last_uid)

    def fetch(self, uids: list[int], max_bytes: int = 0) -> list[FetchedMessage]:
        out = []
        for uid in sorted(uids):
            if self.crash_after_fetches is not None and self.fetched_count >= self.crash_after_fetches:
                raise Crash("connection lost during fetch")
            if uid in self.messages:
                self.fetched_count += 1
                raw = self.messages[uid]
                if max_bytes and len(raw) > max_bytes:  # like BODY.PEEK[HEADER]: the header alone
                    head = re.search(rb"\r?\n\r?\n", raw)
                    out.append(FetchedMessage(uid, raw[:head.end() if head else max_bytes], self.arrived_at,
                                              size=len(raw), complete=False))
                    continue
                out.append(FetchedMessage(uid, raw, self.arrived_at, size=len(raw)))
        return out

    def mark_handled(self, uids: list[int], *, move_to: str = "") -> None:
        if self.crash_on_mark:
            raise Crash("connection lost before flagging")
        for uid in uids:
            if uid in self.flags:
                self.flags[uid].add("\\Seen")
                if move_to:
                    self.moved.setdefault(move_to, []).append(uid)

    def wait_for_news(self, timeout: float, stop: threading.Event) -> bool:
        stop.wait(0.01)
        return False

    def close(self) -> None:
        pass
