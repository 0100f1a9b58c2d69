"""The SMS gateway edge: what a gateway implements, and the built-in one that only logs.

The queueing of codes and when the gateway is called are the outbox's (bot/outbox/sms.py)."""
from __future__ import annotations

import logging
from typing import Protocol

from bot.store.accounts.phones import mask_phone

log = logging.getLogger(__name__)


class SmsError(Exception):
    pass


class SmsSender(Protocol):
    def send_code(self, phone_e164: str, code: str, reference: str) -> None: ...


class LoggingSmsSender:
    """For development and tests: records that a code was due, never the code or the full number."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []   # (phone, reference), for tests

    def send_code(self, phone_e164: str, code: str, reference: str) -> None:
        self.sent.append((phone_e164, reference))
        log.info("SMS code for %s due to %s (logging sender: not sent)", reference, mask_phone(phone_e164))


def make_sms_sender(kind: str) -> SmsSender | None:
    return LoggingSmsSender() if kind == "log" else None
