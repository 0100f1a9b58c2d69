"""Runs the stages over one message in one transaction; anything unexpected goes to quarantine."""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session, select

from bot import audit
from bot.accounts import AccountSource
from bot.classify import Classifier
from bot.clock import Clock
from bot.config import Settings
from bot.db import SessionFactory, transaction
from bot.models import InboundMessage, MailboxState
from bot.pipeline.context import Duplicate, Location, MessageContext
from bot.pipeline.stages import STAGES
from bot.render import MailRenderer
from bot.verify.sms import SmsSender

log = logging.getLogger(__name__)

# A server date more than this far ahead of our clock is not trusted as the receipt time.
_MAX_CLOCK_SKEW = timedelta(minutes=10)


@dataclass
class Pipeline:
    settings: Settings
    clock: Clock
    sessions: SessionFactory
    classifier: Classifier
    renderer: MailRenderer
    accounts: Callable[[Session], AccountSource]          # the account source, seen through a session
    sms: SmsSender | None = None
    dry_run: bool = False                                 # do everything, then roll back
    observer: Callable[[MessageContext], None] | None = None  # told of each handled message

    def handle(self, raw: bytes, location: Location) -> str:
        """Handle one message exactly once; returns the outcome (new-ticket, follow-up, ...)."""
        ctx = MessageContext(raw=raw, location=location, received_at=self._received_at(location))
        try:
            with transaction(self.sessions, commit=not self.dry_run) as session:
                try:
                    for stage in STAGES:
                        stage(ctx, session, self)
                except Duplicate:
                    _advance_watermark(session, location)
                    return "duplicate"
                _advance_watermark(session, location)
                if self.observer:
                    self.observer(ctx)  # inside the transaction: a dry run's rows are still visible
            return ctx.outcome
        except (OperationalError, InterfaceError):
            raise  # the database, not the message, is at fault: the next attempt handles it
        except Exception as exc:  # noqa: BLE001 - whatever it is, a human gets the message
            return self._quarantine(ctx, exc)

    def _received_at(self, location: Location) -> datetime:
        now = self.clock.now()
        arrived = location.arrived_at
        if arrived is None or arrived.tzinfo is None or arrived > now + _MAX_CLOCK_SKEW:
            return now
        return arrived

    def _quarantine(self, ctx: MessageContext, exc: Exception) -> str:
        reason = f"{type(exc).__name__}: {str(exc)[:300]}"
        if self.dry_run:
            return "quarantined"
        log.warning("quarantined message uid=%s: %s", ctx.location.uid, type(exc).__name__)
        loc = ctx.location
        key = "quarantine:" + hashlib.sha256(ctx.raw).hexdigest()
        with transaction(self.sessions) as session:
            if session.exec(select(InboundMessage.id).where(InboundMessage.dedup_key == key)).first():
                _advance_watermark(session, loc)
                return "duplicate"
            row = InboundMessage(
                dedup_key=key,
                folder=loc.folder, uidvalidity=loc.uidvalidity, uid=loc.uid, raw=ctx.raw,
                received_at=ctx.received_at, status="quarantined", quarantine_reason=reason,
                sender=(ctx.parsed.from_address if ctx.parsed else ""),
                subject=(ctx.parsed.subject[:998] if ctx.parsed else ""),
                message_id=(ctx.parsed.message_id if ctx.parsed else None),
            )
            session.add(row)
            session.flush()
            audit.record(session, self.clock.now(), "message.quarantined", inbound_id=row.id, reason=reason)
            _advance_watermark(session, loc)
        return "quarantined"


def _advance_watermark(session: Session, location: Location) -> None:
    if not location.uid:
        return
    state = session.get(MailboxState, location.folder)
    if state is not None and state.uidvalidity == location.uidvalidity and location.uid > state.last_uid:
        state.last_uid = location.uid
        session.add(state)
