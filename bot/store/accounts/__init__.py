"""Account records of the app, behind one interface: the embedded table or the app's own database."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Account:
    account_id: str
    nickname: str
    phone: str                  # E.164, "" when unknown
    emails: tuple[str, ...]     # lower-cased registered addresses; may be empty
    wechat_bound: bool
    status: str


class AccountSource(Protocol):
    def by_email(self, email: str) -> list[Account]: ...
    def by_phone(self, phone: str) -> list[Account]: ...       # phone in E.164
    def by_nickname(self, nickname: str) -> list[Account]: ...
    def get(self, account_id: str) -> Account | None: ...


def split_emails(value: str | None) -> tuple[str, ...]:
    """"a@x; B@y" -> ("a@x", "b@y"): registered addresses, normalised."""
    return tuple(dict.fromkeys(e.strip().lower() for e in (value or "").split(";") if e.strip()))


def as_bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y", "t"}
    return bool(value)
