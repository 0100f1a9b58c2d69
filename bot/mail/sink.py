"""The SMTP edge: sends ready-made messages with aiosmtplib, over one connection for a whole drain."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

import aiosmtplib

from bot.clock import Clock, SystemClock
from bot.config import SmtpSettings
from bot.mail.login import smtp_login, tls_context
from bot.mail.oauth import TokenError

# A connection idle for longer than this is asked NOOP before a message goes over it: a
# server's idle timeout would otherwise cost that message a deferral.
_IDLE_CHECK_SECONDS = 5.0


class TemporaryFailure(Exception):
    """Try again later (4xx reply, connection refused, timeout)."""


class PermanentFailure(Exception):
    """Sending again will not help (5xx reply, e.g. an unknown recipient)."""


class MailSink(Protocol):
    async def send(self, raw: bytes, *, sender: str, recipients: list[str]) -> None: ...


@dataclass
class SmtpSink:
    """Keeps its connection between messages until close() (the sender calls it after each drain):
    connecting, TLS and login once per drain, not once per message."""

    settings: SmtpSettings
    clock: Clock = field(default_factory=SystemClock)
    _client: aiosmtplib.SMTP | None = field(default=None, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _last_used: float = field(default=0.0, init=False, repr=False)

    async def send(self, raw: bytes, *, sender: str, recipients: list[str]) -> None:
        # RFC 6531: an internationalised (non-ASCII) address needs the server's SMTPUTF8.
        options = [] if all(address.isascii() for address in (sender, *recipients)) else ["SMTPUTF8"]
        try:
            client = await self._connection()
            await client.sendmail(sender, recipients, raw, mail_options=options)
            self._last_used = self.clock.monotonic()
        except aiosmtplib.SMTPNotSupported as exc:
            raise PermanentFailure("the address is internationalised (non-ASCII) and the mail server "
                                   "does not offer SMTPUTF8") from exc
        except ValueError as exc:    # aiosmtplib refuses an address unsafe on a command line
            raise PermanentFailure("not sent: the address is not safe on an SMTP command line") from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [err.code for err in exc.recipients]
            if all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused ({codes})") from exc
            raise TemporaryFailure(f"recipient deferred ({codes})") from exc
        except aiosmtplib.SMTPResponseException as exc:
            failure = PermanentFailure if exc.code >= 500 else TemporaryFailure
            raise failure(f"SMTP {exc.code}: {exc.message[:200]}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self.close()  # whatever state the connection is in, the next message starts afresh
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc

    async def _connection(self) -> aiosmtplib.SMTP:
        """The open connection, checked if idle a while; else a new one (nothing is sent before this)."""
        client = self._client
        if client is not None and (self._loop is not asyncio.get_running_loop() or not client.is_connected):
            _abandon(client)  # left by another event loop, or closed by the server
            client, self._client = None, None
        if client is not None and self.clock.monotonic() - self._last_used > _IDLE_CHECK_SECONDS:
            try:
                await client.noop()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                _abandon(client)
                client, self._client = None, None
        if client is None:
            s = self.settings
            context = tls_context(s.security, s.cafile)
            by_password = s.auth == "password"
            client = aiosmtplib.SMTP(
                hostname=s.host, port=s.port, username=(s.username or None) if by_password else None,
                password=(s.password or None) if by_password else None,
                use_tls=s.security == "tls", start_tls=s.security == "starttls", tls_context=context,
                timeout=s.timeout_seconds)
            await client.connect()
            if not by_password:
                await _oauth2_login(client, s)
            self._client, self._loop = client, asyncio.get_running_loop()
        return client

    async def close(self) -> None:
        """Say goodbye to the server; safe to call when nothing is open."""
        client, self._client = self._client, None
        if client is None or not client.is_connected:
            return
        if self._loop is not asyncio.get_running_loop():
            _abandon(client)
            return
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            _abandon(client)


async def _oauth2_login(client: aiosmtplib.SMTP, settings: SmtpSettings) -> None:
    """A refused or unobtainable token is the account's problem, not the message's: try again later."""
    try:
        await smtp_login(client, settings)
    except (TokenError, aiosmtplib.SMTPAuthenticationError) as exc:
        _abandon(client)
        raise TemporaryFailure(f"OAuth2 login: {exc}") from None


def _abandon(client: aiosmtplib.SMTP) -> None:
    """Drop a connection without a word to the server (its event loop may be gone already)."""
    try:
        client.close()
    except RuntimeError:  # "Event loop is closed": the socket went with it
        pass
