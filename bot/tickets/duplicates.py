"""Duplicate requests: the same requester asking for the same right again (or sending the same other
question again, near word for word) joins the open ticket, not a new one."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

from sqlalchemy import bindparam
from sqlmodel import Session, select

from bot.store import audit
from bot.store.batch_index import open_tickets_of
from bot.store.models import OutboxMessage, Ticket
from bot.outbox.queue import queue_mail
from bot.mail.context import inbound_id
from bot.sla import local_date
from bot.store.models import InboundMessage
from bot.tickets.threads import party_of
from bot.verify.authresults import sender_authenticated

if TYPE_CHECKING:
    from bot.mail.context import MessageContext
    from bot.mail.context import Services

DUPLICATE_NOTICE = "duplicate-notice"


RIGHTS = frozenset({"access", "correction", "deletion"})
NEAR_IDENTICAL = 0.9          # difflib ratio: the same text sent again, a few words changed
_COMPARED_CHARS = 2000


def same_request(ticket_kind: str, ticket_labels: Iterable[str], kind: str, labels: Iterable[str]) -> bool:
    """Rule: at least one right (access, correction, deletion) asked for in both; `other` never by kind."""
    rights = lambda first, names: ({first, *(name.strip() for name in names)} & RIGHTS)  # noqa: E731
    return bool(rights(ticket_kind, ticket_labels) & rights(kind, labels))


def near_identical(first: str, second: str) -> bool:
    """Rule: the same text again (case, spacing and a few added words aside)."""
    a, b = (" ".join(text.casefold().split())[:_COMPARED_CHARS] for text in (first, second))
    if not (a and b):
        return False
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    # The cheap upper bounds first: most pairs are told apart by length or letters alone.
    return (matcher.real_quick_ratio() >= NEAR_IDENTICAL and matcher.quick_ratio() >= NEAR_IDENTICAL
            and matcher.ratio() >= NEAR_IDENTICAL)


_INBOUND = InboundMessage.__table__
_OPENING_TEXT = select(_INBOUND.c.new_text).where(
    _INBOUND.c.ticket_id == bindparam("ticket_id"), _INBOUND.c.opened_ticket == True).limit(1)  # noqa: E712


def _opening_text(session: Session, ticket_id: int) -> str:
    return session.connection().execute(_OPENING_TEXT, {"ticket_id": ticket_id}).scalar() or ""


def link_duplicate(ctx: MessageContext, session: Session, deps: Services) -> None:
    """Stage: a new request matching an open ticket of its sender, received within the window, joins it."""
    days, msg, result = deps.settings.tickets.duplicate_window_days, ctx.parsed, ctx.classification
    if ctx.ticket is not None or ctx.machine_reason or result is None or days <= 0 or not msg.from_address:
        return
    # Only the columns the rule reads (the whole ticket is loaded for the one that matches), from the
    # batch's index or plain SQL; no flush: only the message is pending, and it cannot change this answer.
    open_tickets = open_tickets_of(session, msg.from_address, ctx.received_at, timedelta(days=days))
    text, sure = msg.new_text or msg.text, result.confidence >= deps.settings.tickets.triage_threshold
    # By right only when the classifier is sure of both; anything else only when sent again near word for word.
    found = next((t.id for t in open_tickets
                  if (sure and not t.needs_triage
                      and same_request(t.kind, t.labels.split(","), result.kind, result.labels))
                  or (t.kind == result.kind and near_identical(_opening_text(session, t.id), text))), None)
    if found is None:
        return  # another right, a closed ticket, or too long ago: a new ticket
    ticket = session.get(Ticket, found)
    # The same address, but only a trusted authentication pass shows it was the requester who wrote.
    proven = sender_authenticated(msg, deps.settings.verification.trusted_authserv_ids)[0]
    ctx.ticket, ctx.inbound.ticket_id = ticket, ticket.id
    ctx.inbound.party = party_of(session, ticket, msg.from_address, proven=proven)
    audit.record(session, deps.clock.now(), "message.duplicate_linked", ticket_id=ticket.id,
                 inbound_id=inbound_id(ctx, session), reference=ticket.reference, kind=result.kind,
                 labels=",".join(result.labels), window_days=days)
    if (notice := queue_duplicate_notice(session, ctx, deps)) is not None:
        ctx.outbox.append(notice)


def queue_duplicate_notice(session: Session, ctx: MessageContext, deps: Services) -> OutboxMessage | None:
    """Instead of a second acknowledgement: the reference we already gave and its due date."""
    settings, ticket, msg = deps.settings, ctx.ticket, ctx.parsed
    # Written in another language than the first request: answer in both.
    language = ticket.language if ctx.classification.language == ticket.language else "bilingual"
    mail = deps.renderer.render(
        "duplicate", language, reference=ticket.reference, kind=ticket.kind,
        original_subject=msg.normalized_subject, received_date=local_date(ticket.received_at, settings.sla),
        due_date=local_date(ticket.due_at, settings.sla), timezone=settings.sla.timezone,
    )
    return queue_mail(session, settings=settings, now=deps.clock.now(), ticket=ticket, kind=DUPLICATE_NOTICE,
                      to=msg.from_address, subject=mail.subject, text=mail.text,
                      in_reply_to=msg.message_id, references=msg.references)
