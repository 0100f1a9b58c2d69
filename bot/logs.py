"""Logging set-up: plain structured lines, with phone numbers and addresses masked as a last guard."""
from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# Chinese mobile numbers in their common spellings, and other long digit runs.
_PHONE = re.compile(r"(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|\+?\d[\d\s-]{8,}\d")


def redact(text: str) -> str:
    text = _PHONE.sub("[phone]", text)
    return _EMAIL.sub(r"\1***@\2", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("imapclient", "mail.log", "aiosmtpd", "pymap", "asyncio", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
