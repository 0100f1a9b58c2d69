"""The SMTP edge: one async entry point that sends a ready-made message with aiosmtplib."""
from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Protocol

import aiosmtplib

from bot.config import SmtpSettings


class TemporaryFailure(Exception):
    """Try again later (4xx reply, connection refused, timeout)."""


class PermanentFailure(Exception):
    """Sending again will not help (5xx reply, e.g. an unknown recipient)."""


class MailSink(Protocol):
    async def send(self, raw: bytes, *, sender: str, recipients: list[str]) -> None: ...


@dataclass
class SmtpSink:
    settings: SmtpSettings

    async def send(self, raw: bytes, *, sender: str, recipients: list[str]) -> None:
        s = self.settings
        context = ssl.create_default_context(cafile=s.cafile or None) if s.security != "none" else None
        try:
            await aiosmtplib.send(
                raw, sender=sender, recipients=recipients, hostname=s.host, port=s.port,
                username=s.username or None, password=s.password or None,
                use_tls=s.security == "tls", start_tls=s.security == "starttls",
                tls_context=context, timeout=s.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [err.code for err in exc.recipients]
            if all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused ({codes})") from exc
            raise TemporaryFailure(f"recipient deferred ({codes})") from exc
        except aiosmtplib.SMTPResponseException as exc:
            failure = PermanentFailure if exc.code >= 500 else TemporaryFailure
            raise failure(f"SMTP {exc.code}: {exc.message[:200]}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
