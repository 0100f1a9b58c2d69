"""Settles mail "in doubt" by looking for its Message-ID among the copies of what we sent (IMAP)."""
from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from bot.config import ImapSettings
from bot.mail.imap import CONNECTION_ERRORS, ImapMailbox

log = logging.getLogger(__name__)


class SentCopies(Protocol):
    async def find(self, message_ids: list[str]) -> set[str]:
        """The Message-IDs (as given) of which a delivered copy exists."""


class ImapSentCopies:
    """A folder where the mail server files a copy of everything it accepted from us.

    Gmail's SMTP does this by itself ("[Gmail]/Sent Mail"); elsewhere [smtp] sent_copy_bcc adds an
    envelope recipient that the server delivers into the folder. The server files the copy as part
    of accepting the mail, so a missing copy (after the claim lease) means the mail was not accepted.
    Codes by SMS have no such copy: the sender never looks them up here (bot/outbox/sender.py)."""

    def __init__(self, settings: ImapSettings, folder: str) -> None:
        self.settings, self.folder = settings, folder

    async def find(self, message_ids: list[str]) -> set[str]:
        return await asyncio.to_thread(self._find, message_ids)

    def _find(self, message_ids: list[str]) -> set[str]:
        mailbox = ImapMailbox(self.settings)
        try:
            mailbox.client.select_folder(self.folder, readonly=True)
            return {mid for mid in message_ids
                    if mailbox.client.search(["HEADER", "Message-ID", mid])}
        except CONNECTION_ERRORS as exc:
            # Not knowing is not "not sent": raise, and the rows wait for the next claim.
            log.warning("sent-copy folder %r unreadable (%s)", self.folder, type(exc).__name__)
            raise
        finally:
            mailbox.close()
