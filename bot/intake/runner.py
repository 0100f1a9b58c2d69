"""Runs the stages over one message in one transaction; anything unexpected goes to quarantine."""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from bot.store.db import transaction
from bot.store.rows import insert_row
from bot.mail.imap import HEADER_LIMIT
from bot.mail.parse import parse_message
from bot.mail.context import Duplicate, Services, Location, MessageContext, Quarantine, advance_watermark
from bot.intake.quarantine import database_at_fault, describe_error, quarantine_key, store_quarantined
from bot.intake.stages import STAGES
log = logging.getLogger(__name__)

# A server date more than this far ahead of our clock is not trusted as the receipt time.
_MAX_CLOCK_SKEW = timedelta(minutes=10)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass
class Pipeline(Services):
    """The stages over one message at a time, with the services they are handed."""

    def handle(self, raw: bytes, location: Location) -> str:
        """Handle one message exactly once; returns the outcome (new-ticket, follow-up, ...)."""
        ctx = self.new_context(raw, location)
        if len(raw) > self.settings.imap.max_message_bytes:
            # Came whole by another way than the fetcher: from a folder, keep only the header.
            kept = _header_of(raw) if location.uid else raw
            return self.handle_oversized(kept, location, len(raw), whole=not location.uid)
        try:
            with transaction(self.sessions, commit=not self.dry_run) as session:
                return self.run_stages(ctx, session)
        except Exception as exc:  # noqa: BLE001 - whatever it is, a human gets the message
            return self.quarantine_failed(ctx, exc)

    def new_context(self, raw: bytes, location: Location) -> MessageContext:
        return MessageContext(raw=raw, location=location, received_at=self._received_at(location))

    def run_stages(self, ctx: MessageContext, session: Session, *, watermark: bool = True) -> str:
        """The stages over one message in the caller's transaction, then its watermark (unless the
        caller moves it once for many messages); the outcome."""
        try:
            for stage in STAGES:
                stage(ctx, session, self)
            if ctx.inbound.id is None:
                insert_row(session, ctx.inbound)   # stored without a ticket: one INSERT, not a flush
            session.flush()   # whatever a stage left to the unit of work fails with its own message
        except Duplicate:
            if watermark:
                advance_watermark(session, ctx.location)
            return "duplicate"
        if watermark:
            advance_watermark(session, ctx.location)
        if self.observer:
            self.observer(ctx)  # inside the transaction: a dry run's rows are still visible
        return ctx.outcome

    def quarantine_failed(self, ctx: MessageContext, exc: Exception) -> str:
        """After the message's work was rolled back: quarantine it, unless the database is at fault."""
        if isinstance(exc, (OperationalError, InterfaceError)) and database_at_fault(exc):
            raise exc  # the database, not the message, is at fault: the next attempt handles it
        return self._quarantine(ctx, exc)  # e.g. a header value too long for an index

    def handle_oversized(self, kept: bytes, location: Location, size: int, *, moved_to: str = "",
                         whole: bool = False) -> str:
        """Quarantine a message over imap.max_message_bytes; `kept` is its header, or all of it if whole."""
        limit = self.settings.imap.max_message_bytes
        reason = f"too large: {size:,} bytes, over the limit of {limit:,} (imap.max_message_bytes); "
        if whole:
            reason += "not handled, the whole message is stored here."
            key = quarantine_key(kept)
        else:
            reason += (f"not downloaded, only its header was read. It stays on the mail server: folder "
                       f"{location.folder!r}, UIDVALIDITY {location.uidvalidity}, UID {location.uid}"
                       + (f", then moved to {moved_to!r} (new UID there)." if moved_to else "."))
            key = "oversized:" + hashlib.sha256(size.to_bytes(8, "big") + kept).hexdigest()
        log.warning("quarantined message folder=%s uid=%s: %d bytes over the size limit", location.folder,
                    location.uid, size)
        ctx = MessageContext(raw=kept, location=location, received_at=self._received_at(location),
                             parsed=parse_message(kept))
        return self._store(ctx, reason, key)

    def _received_at(self, location: Location) -> datetime:
        now = self.clock.now()
        arrived = location.arrived_at
        if arrived is None or arrived.tzinfo is None or arrived > now + _MAX_CLOCK_SKEW:
            return now
        return arrived

    def _quarantine(self, ctx: MessageContext, exc: Exception) -> str:
        reason = str(exc) if isinstance(exc, Quarantine) else describe_error(exc)
        log.warning("quarantined message folder=%s uid=%s: %s", ctx.location.folder, ctx.location.uid,
                    type(exc).__name__)
        return self._store(ctx, reason, quarantine_key(ctx.raw))

    def _store(self, ctx: MessageContext, reason: str, key: str) -> str:
        if self.dry_run:
            return "quarantined"
        return store_quarantined(self.sessions, self.clock.now(), raw=ctx.raw, location=ctx.location,
                                 received_at=ctx.received_at, reason=reason, key=key, parsed=ctx.parsed)


def _header_of(raw: bytes) -> bytes:
    end = _HEADER_END.search(raw, 0, HEADER_LIMIT)
    return raw[:end.end()] if end else raw[:HEADER_LIMIT]
