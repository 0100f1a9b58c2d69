"""Staff actions on quarantined mail: release it through the pipeline again, or dismiss it with a reason.

A release runs the stored message through the same stages as the fetcher, in one transaction with
the quarantined row turning "released". That row gives its place in the mailbox (folder, UIDVALIDITY,
UID: unique) to the handled copy, which becomes the message's record like any other; the
"message.released" event keeps the place and links the two (the released row's UID becomes minus its
id: unique, and never a real UID). If the message fails again, all of that is rolled back and it
stays quarantined with the new reason: nothing is retried by itself."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from bot.store import audit
from bot.store.db import transaction
from bot.store.models import InboundMessage, Ticket
from bot.mail.context import Location, MessageContext, Quarantine
from bot.intake.quarantine import database_at_fault, describe_error, storable
from bot.intake.runner import Pipeline
from bot.intake.stages import NO_USABLE_SENDER, dedup_key

log = logging.getLogger(__name__)
REASON_LIMIT = 200


class ActionRefused(ValueError):
    """The message is not (or no longer) in the quarantine, or cannot be released or dismissed as asked."""


@dataclass(frozen=True)
class Released:
    message_id: int
    outcome: str                 # the pipeline's outcome; "quarantined" when it failed again
    handled_id: int | None = None  # the row that now stands for the message
    ticket: str | None = None    # the reference of its ticket, if any
    reason: str = ""             # when quarantined again: why


def N_(text: str) -> str:
    """Marks a text for the console's catalogues (bot/web/translations), which translate it when shown."""
    return text


PURGED = N_("Its copy was purged under retention: there is nothing to release.")
TOO_LARGE = N_("It is over the size limit, so the bot cannot handle it (Why says where the whole message is). "
               "Handle it by hand, then dismiss it.")
NO_SENDER = N_("It names no sender the bot can answer, and a release would only quarantine it again. "
               "If the text shows who wrote it, answer them by hand, then dismiss it.")


def release_refusal(*, purged: bool, reason: str | None, size: int, max_bytes: int) -> str | None:
    """Rule: why a quarantined message cannot go through the pipeline again (None: it can)."""
    if purged or not size:
        return PURGED
    if (reason or "").startswith("too large") or size > max_bytes:
        return TOO_LARGE
    if (reason or "").startswith(NO_USABLE_SENDER):   # the stored From cannot change
        return NO_SENDER
    return None


def refusal_for(row: InboundMessage, max_bytes: int) -> str | None:
    return release_refusal(purged=row.purged_at is not None, reason=row.quarantine_reason, size=len(row.raw),
                           max_bytes=max_bytes)


def _claim(session: Session, message_id: int, status: str, **values: object) -> InboundMessage:
    """The quarantined row, moved to `status` by a conditional update: of two staff at once, one wins."""
    row = session.get(InboundMessage, message_id)
    changed = 0 if row is None or row.status != "quarantined" else session.exec(
        update(InboundMessage).where(InboundMessage.id == message_id, InboundMessage.status == "quarantined")
        .values(status=status, **values).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise ActionRefused(f"Message {message_id} is not in the quarantine (any more).")
    return row


def release(pipeline: Pipeline, message_id: int, *, actor: str) -> Released:
    """Handle a quarantined message as if just fetched; ActionRefused if it cannot be tried."""
    now = pipeline.clock.now()
    try:
        with transaction(pipeline.sessions) as session:
            row = session.get(InboundMessage, message_id)
            if row is not None and row.status == "quarantined":
                if refusal := refusal_for(row, pipeline.settings.imap.max_message_bytes):
                    raise ActionRefused(f"Message {message_id} cannot be released. {refusal}")
            row = _claim(session, message_id, "released", uid=-message_id)   # its place goes to the copy
            place = Location(row.folder, row.uidvalidity, row.uid, row.received_at)  # arrival time kept
            ctx = pipeline.new_context(row.raw, place)
            outcome = pipeline.run_stages(ctx, session)
            handled = _standing_for(session, ctx, row)
            ticket = session.get(Ticket, handled.ticket_id) if handled and handled.ticket_id else None
            audit.record(session, now, "message.released", inbound_id=message_id, actor=actor,
                         ticket_id=ticket.id if ticket else None, outcome=outcome,
                         handled_id=handled.id if handled else None,
                         folder=row.folder, uidvalidity=row.uidvalidity, uid=row.uid)
            result = Released(message_id, outcome, handled.id if handled else None,
                              ticket.reference if ticket else None)
    except ActionRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - like the fetcher: a human gets the message back
        if database_at_fault(exc):
            raise   # the database, not the message: nothing changed, staff may try again
        return _quarantined_again(pipeline, message_id, exc, actor=actor)
    log.info("released quarantined message %d: %s", message_id, outcome)
    return result


def _standing_for(session: Session, ctx: MessageContext, row: InboundMessage) -> InboundMessage | None:
    """The row that now stands for the released message: its handled copy, or the same message stored since."""
    if ctx.inbound is None:   # "duplicate": found by the content key, as the store stage found it
        key = dedup_key(ctx.parsed.from_address, ctx.parsed.message_id, row.raw)
        return session.exec(select(InboundMessage).where(InboundMessage.dedup_key == key)).first()
    ctx.inbound.flagged = row.flagged   # already \Seen (or moved) on the server: not again
    session.flush()
    return ctx.inbound


def _quarantined_again(pipeline: Pipeline, message_id: int, exc: Exception, *, actor: str) -> Released:
    reason = storable(str(exc) if isinstance(exc, Quarantine) else describe_error(exc), 2000)
    with transaction(pipeline.sessions) as session:
        session.exec(update(InboundMessage).where(InboundMessage.id == message_id,
                                                  InboundMessage.status == "quarantined")
                     .values(quarantine_reason=reason).execution_options(synchronize_session=False))
        audit.record(session, pipeline.clock.now(), "message.release_failed", inbound_id=message_id, actor=actor,
                     reason=reason)
    log.warning("quarantined message %d failed again when released: %s", message_id, type(exc).__name__)
    return Released(message_id, "quarantined", reason=reason)


def dismiss(session: Session, message_id: int, *, reason: str, actor: str, now: datetime) -> InboundMessage:
    """Out of the quarantine for good (status "dismissed"); its copy stays until retention purges it."""
    reason = " ".join(reason.split())
    if not reason:
        raise ActionRefused("Give a short reason for dismissing it (e.g. spam, handled by hand).")
    if len(reason) > REASON_LIMIT:
        raise ActionRefused(f"Keep the reason under {REASON_LIMIT} characters.")
    row = _claim(session, message_id, "dismissed")
    audit.record(session, now, "message.dismissed", inbound_id=message_id, actor=actor, reason=reason)
    return row
