"""Suppressed addresses: listed when our mail to them bounces, lifted by staff; they get no automatic mail."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot.store import audit
from bot.mail.bounces import BounceReport, read_bounce
from bot.mail.rules import auto_reply_reason, bounce_reason, delivery_report_reason
from bot.store.models import OutboxMessage, SuppressedAddress

if TYPE_CHECKING:
    from bot.mail.context import MessageContext
    from bot.mail.context import Services

BOUNCED = "bounced"


def note_bounce(ctx: MessageContext, session: Session, deps: Services) -> None:
    """Stage: a bounce returning mail we sent puts the address it went to on the suppression list; any other
    bounce stays machine mail and suppresses nothing."""
    msg = ctx.parsed
    if not ctx.machine_reason or not (bounce_reason(msg) or "").startswith("bounce:"):
        return  # read receipts and abuse reports say nothing about delivery
    strong = delivery_report_reason(msg) is not None
    if not strong and auto_reply_reason(msg) is not None:
        return  # a null sender alone: an RFC 3834 auto-reply, not a bounce
    report = read_bounce(ctx.raw)
    for row, matched_by in _bounced_rows(session, report, (*report.returned_ids, *msg.in_reply_to, *msg.references),
                                         strong=strong):
        suppress(session, row.to_address, reason=BOUNCED, now=deps.clock.now(), inbound_id=ctx.inbound.id,
                 ticket_id=row.ticket_id, outbox_id=row.id, matched_by=matched_by)


def _bounced_rows(session: Session, report: BounceReport, ids: tuple[str, ...], *,
                  strong: bool) -> list[tuple[OutboxMessage, str]]:
    """Our mail the bounce returns, by its Message-ID. Naming an address we wrote to proves nothing:
    anyone can write a delivery report, but only the receiving side saw our unpredictable Message-ID."""
    found: dict[str, tuple[OutboxMessage, str]] = {}
    # A delay warning is not a bounce; a bounce we only guess at must name a failed recipient.
    if ids and (report.failed or (strong and not report.delayed and not report.warning)):
        for row in session.exec(select(OutboxMessage).where(OutboxMessage.message_id.in_(ids))):
            found.setdefault(row.to_address.lower(), (row, "returned message-id"))
    return list(found.values())


def suppress(session: Session, address: str, *, reason: str, now: datetime, inbound_id: int | None = None,
             ticket_id: int | None = None, actor: str = "bot", **evidence: object) -> bool:
    """Add the address to the list (once); the event goes on the ticket the bounced mail was about."""
    address = address.strip().lower()
    if session.get(SuppressedAddress, address) is not None:
        return False
    session.add(SuppressedAddress(address=address, reason=reason, created_at=now, inbound_id=inbound_id))
    audit.record(session, now, "address.suppressed", ticket_id=ticket_id, inbound_id=inbound_id, actor=actor,
                 address=address, reason=reason, **evidence)
    session.flush()
    return True


def lift(session: Session, address: str, *, actor: str, now: datetime) -> SuppressedAddress | None:
    """Take the address off the list; automatic mail may go to it again. None if it was not listed."""
    row = session.get(SuppressedAddress, address.strip().lower())
    if row is None:
        return None
    session.delete(row)
    audit.record(session, now, "address.unsuppressed", actor=actor, address=row.address, reason=row.reason,
                 inbound_id=row.inbound_id)
    return row


def listing(session: Session) -> list[SuppressedAddress]:
    return list(session.exec(select(SuppressedAddress).order_by(SuppressedAddress.created_at,
                                                                SuppressedAddress.address)))
