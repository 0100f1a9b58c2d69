"""Logging in to the mail servers: a password, or an OAuth2 token renewed once if the server refuses it."""
from __future__ import annotations

import asyncio
import logging
import ssl

import aiosmtplib
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from bot.config import ImapSettings, SmtpSettings
from bot.mail.oauth import token_source

log = logging.getLogger(__name__)


def tls_context(security: str, cafile: str) -> ssl.SSLContext | None:
    """The TLS context of a connection as configured (none for security = "none")."""
    return ssl.create_default_context(cafile=cafile or None) if security != "none" else None

# What the IMAP ID command says about us (NetEase refuses a session that sends none).
CLIENT_ID = {"name": "supportbot", "version": "0.1.0", "vendor": "ESL"}


def imap_login(client: IMAPClient, settings: ImapSettings) -> None:
    """Log in as [imap] says, then send ID when send_id is set; LoginError when refused."""
    if settings.auth == "oauth2":
        source = token_source(settings.oauth2, "imap", settings.username)
        mechanism = imap_mechanism(client)
        for renew in (False, True):
            token = source.token(renew=renew)
            try:
                if mechanism == "OAUTHBEARER":
                    client.oauthbearer_login(settings.username, token)
                else:
                    client.oauth2_login(settings.username, token)
                break
            except LoginError:
                if renew:
                    raise LoginError(f"IMAP {mechanism} login refused, also with a renewed token") from None
                log.info("IMAP refused the OAuth2 token; renewing it once")
    else:
        client.login(settings.username, settings.password)
    if settings.send_id:
        if client.has_capability("ID"):
            client.id_(CLIENT_ID)
        else:
            log.warning("[imap] send_id is set but the server does not offer ID; not sent")


def imap_mechanism(client: IMAPClient) -> str:
    """XOAUTH2, which Microsoft and Google both document; OAUTHBEARER when only that is offered."""
    offered = client.capabilities()
    return "OAUTHBEARER" if b"AUTH=OAUTHBEARER" in offered and b"AUTH=XOAUTH2" not in offered else "XOAUTH2"


async def smtp_login(client: aiosmtplib.SMTP, settings: SmtpSettings) -> None:
    """AUTH XOAUTH2 on a connected client (token as the initial response), renewed once if refused."""
    source = token_source(settings.oauth2, "smtp", settings.username)
    for renew in (False, True):
        token = await asyncio.to_thread(source.token, renew=renew)
        try:
            await client.auth_xoauth2(settings.username, token)
            return
        except aiosmtplib.SMTPAuthenticationError:
            if renew:
                raise
            log.info("SMTP refused the OAuth2 token; renewing it once")
