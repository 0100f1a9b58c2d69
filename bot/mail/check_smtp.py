"""`supportbot mail check`, SMTP: reach the server, log in, and ask for sending rights without sending."""
from __future__ import annotations

import asyncio

import aiosmtplib

from bot.config import Settings
from bot.mail.check import Report, Step, obtain_token, resolve, tcp
from bot.mail.login import tls_context
from bot.mail.login import smtp_login


async def check_smtp(settings: Settings, report: Report) -> None:
    s, area = settings.smtp, "SMTP"
    if not s.host:
        report.steps.append(Step(area, "settings", False, "no [smtp] host configured"))
        return
    await report.step(area, "DNS", lambda: resolve(s.host, s.port))
    await report.step(area, "TCP", lambda: tcp(s.host, s.port, s.timeout_seconds))
    client = aiosmtplib.SMTP(hostname=s.host, port=s.port, use_tls=s.security == "tls",
                             start_tls=s.security == "starttls", tls_context=tls_context(s.security, s.cafile),
                             timeout=s.timeout_seconds)

    async def connect() -> str:
        await client.connect()
        await client.ehlo()
        return f"{s.security}; server offers AUTH {' '.join(client.server_auth_methods) or '(none)'}"
    await report.step(area, "TLS and EHLO" if s.security != "none" else "EHLO", connect)
    if s.auth == "oauth2":
        await report.step(area, "OAuth2 token", lambda: asyncio.to_thread(obtain_token, s.oauth2, "smtp", s.username))
        await report.step(area, "login", lambda: _said(smtp_login(client, s), f"logged in as {s.username}"))
    elif s.username:
        await report.step(area, "login", lambda: _said(client.login(s.username, s.password),
                                                       f"logged in as {s.username}"))

    async def sending_rights() -> str:
        # MAIL FROM and RCPT TO, then RSET: the server says yes or no, and nothing is sent.
        await client.mail(s.from_address)
        await client.rcpt(s.from_address)
        await client.rset()
        return f"MAIL FROM <{s.from_address}> and RCPT TO accepted (nothing sent)"
    await report.step(area, "sending rights", sending_rights)
    if client.is_connected:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()


async def _said(action, detail: str) -> str:
    await action
    return detail
