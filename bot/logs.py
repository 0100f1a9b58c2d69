"""Logging set-up: text or JSON lines, with phone numbers and addresses masked as a last guard."""
from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# Chinese mobile numbers in their common spellings, and other long digit runs (but not a
# date such as 2026-11-24, which would otherwise read as one).
_PHONE = re.compile(r"(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}"
                    r"|(?<![\d-])(?!\d{4}-\d\d-\d\d(?!\d))\+?\d[\d\s-]{8,}\d")
NOISY = ("imapclient", "mail.log", "aiosmtpd", "pymap", "asyncio", "alembic", "apscheduler")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_OWN_FIELDS = ("time", "level", "logger")   # made by the formatter itself: nothing to mask


def redact(text: str) -> str:
    """j***@example.com for an address, [phone] for a phone number or any long digit run."""
    text = _PHONE.sub("[phone]", text)
    return _EMAIL.sub(r"\1***@\2", text)


class RedactingFilter(logging.Filter):
    """Masks the message, its traceback and stack: a library's exception text may name an address."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            # Formatted once here, so neither formatter sees the unmasked exception again.
            record.exc_text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object per line; fields passed with `extra=` are masked like the message."""

    def process_log_record(self, log_record: dict) -> dict:
        return {key: redact(value) if isinstance(value, str) and key not in _OWN_FIELDS else value
                for key, value in log_record.items()}


def make_handler(fmt: str = "text", stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(RedactingJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "exc_info": "exception"},
            json_ensure_ascii=False))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactingFilter())
    return handler


def setup_logging(verbose: bool = False, *, fmt: str = "text", level: str = "INFO",
                  stream: TextIO | None = None) -> None:
    """Replace the root handlers with one masked handler; `verbose` means DEBUG whatever `level` says."""
    root = logging.getLogger()
    root.handlers[:] = [make_handler(fmt, stream)]
    root.setLevel(logging.DEBUG if verbose else getattr(logging, level.upper(), logging.INFO))
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
