"""Keeps a message the pipeline cannot handle for staff: raw bytes intact, text fields made storable, never retried."""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import or_, select

from bot.store import audit
from bot.store.db import SessionFactory, transaction
from bot.mail.headers import clean
from bot.mail.parse import ParsedMessage
from bot.store.models import InboundMessage
from bot.mail.context import Location, advance_watermark

log = logging.getLogger(__name__)

# SQLSTATE classes that blame the database, not the message: connection, rollback (serialisation,
# deadlock), resources, lock not available, operator intervention, system error. Others (data
# exceptions, program limits such as an index row too large) come from the message's content.
_DATABASE_FAULTS = ("08", "40", "53", "55", "57", "58", "XX")
# Longest text kept per field of a quarantined row; the raw bytes keep everything.
_LIMITS = {"sender": 320, "subject": 998, "message_id": 998, "new_text": 100_000, "quarantine_reason": 2000}


def database_at_fault(exc: BaseException) -> bool:
    """Rule: a database error that would hit any message alike, so the message must be tried again."""
    if isinstance(exc, InterfaceError) or getattr(exc, "connection_invalidated", False):
        return True
    if not isinstance(exc, OperationalError):
        return False
    state = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return not state or state[:2] in _DATABASE_FAULTS   # SQLite (no SQLSTATE): locked, I/O, ...


def describe_error(exc: BaseException) -> str:
    """Type and message of an error, storable; for a database error without the statement and its
    parameters (they would carry the message's text)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        lines = str(exc.orig).strip().splitlines()
        text = f"{type(exc.orig).__name__}: {lines[0] if lines else ''}"
    else:
        text = f"{type(exc).__name__}: {str(exc)[:300]}"
    return storable(text, 400)


def storable(text: str | None, limit: int) -> str:
    """Text every database accepts: no NUL, no lone surrogates, at most `limit` characters."""
    return clean(text or "")[:limit]


def quarantine_key(raw: bytes) -> str:
    return "quarantine:" + hashlib.sha256(raw).hexdigest()


def store_quarantined(sessions: SessionFactory, now: datetime, *, raw: bytes, location: Location,
                      received_at: datetime, reason: str, key: str, parsed: ParsedMessage | None) -> str:
    """Store the message as quarantined; "quarantined", "duplicate" (already there) or "unstorable".

    If the row is refused, it is tried again with the header fields left empty. If even that is
    refused, the folder's watermark still moves past the message, which stays unread on the
    server: one poison message must not block the mailbox by being fetched again and again."""
    error: BaseException | None = None
    for fields in (_fields(parsed, reason), _fields(None, reason)):
        try:
            with transaction(sessions) as session:
                same = [InboundMessage.dedup_key == key]
                if location.uid:
                    same.append((InboundMessage.folder == location.folder) & (InboundMessage.uid == location.uid)
                                & (InboundMessage.uidvalidity == location.uidvalidity))
                if session.exec(select(InboundMessage.id).where(or_(*same))).first() is not None:
                    advance_watermark(session, location)
                    return "duplicate"
                row = InboundMessage(dedup_key=key, folder=location.folder, uidvalidity=location.uidvalidity,
                                     uid=location.uid, raw=raw, received_at=received_at, status="quarantined",
                                     **fields)
                session.add(row)
                session.flush()
                audit.record(session, now, "message.quarantined", inbound_id=row.id,
                             reason=fields["quarantine_reason"])
                advance_watermark(session, location)
            return "quarantined"
        except Exception as exc:  # noqa: BLE001 - refused: try the plainer row, then give up on it
            if database_at_fault(exc):
                raise
            error = exc
            # Only the error's kind: a database's message may quote the values, i.e. the mail.
            log.error("could not store quarantined message folder=%s uid=%s: %s (SQLSTATE %s)", location.folder,
                      location.uid, type(getattr(exc, "orig", None) or exc).__name__,
                      getattr(getattr(exc, "orig", None), "sqlstate", None) or "-")
    with transaction(sessions) as session:
        audit.record(session, now, "message.unstorable", folder=location.folder, uidvalidity=location.uidvalidity,
                     uid=location.uid, size=len(raw), sha256=hashlib.sha256(raw).hexdigest(),
                     error=describe_error(error))
        advance_watermark(session, location)
    log.error("message folder=%s uid=%s could not be stored at all: skipped, left unread on the server",
              location.folder, location.uid)
    return "unstorable"


def _fields(parsed: ParsedMessage | None, reason: str) -> dict:
    fields = {"quarantine_reason": storable(reason, _LIMITS["quarantine_reason"])}
    if parsed is not None:
        fields.update({name: storable(getattr(parsed, attr), _LIMITS[name]) for name, attr in
                       (("sender", "from_address"), ("subject", "subject"), ("new_text", "new_text"))})
        fields["message_id"] = storable(parsed.message_id, _LIMITS["message_id"]) or None
    return fields
