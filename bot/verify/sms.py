"""Where SMS codes go. A real gateway implements SmsSender; the built-in one only logs that a code was due.

To wire a gateway: write a class with `send_code(phone_e164, code, reference) -> None` that raises
SmsError on failure, and return it from `make_sms_sender` for a new `[verification] sms_sender`
value. It is called inside the ticket's transaction, so a failure leaves the message to be retried
or quarantined rather than half-handled.
"""
from __future__ import annotations

import logging
from typing import Protocol

from bot.accounts.phones import mask_phone

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
