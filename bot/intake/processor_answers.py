"""The intake stage that recognises a processor's answer to a deletion notice and records it.

An answer threads by the notice's Message-ID (In-Reply-To/References), its token (subject or text)
or the ticket reference in its subject, and must come from the processor's own domain. Machine mail (auto-replies, bounces: the
rules in bot/mail/rules.py have already spoken) is noted on the ticket and never taken as an
answer. The answer's classification is the rules' guess; staff check it on the ticket page."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, or_, select

from bot.store import audit
from bot.mail.subject import find_ticket_references
from bot.store.models import Ticket
from bot.mail.context import MessageContext, inbound_id
from bot.drafts.processor_answers import classify_answer
from bot.store.processor_models import ProcessorNotice
from bot.drafts.notices import TOKEN

if TYPE_CHECKING:
    from bot.mail.context import Services


def find_notice(session: Session, ctx: MessageContext, prefix: str) -> ProcessorNotice | None:
    """By the notice's Message-ID or token; else by the ticket reference in the subject, from the
    domain of one of that ticket's processors (an answer whose client dropped both)."""
    msg = ctx.parsed
    ids = [i for i in (*msg.in_reply_to, *msg.references) if i]
    tokens = [f"P-{t}" for t in TOKEN.findall(f"{msg.subject}\n{msg.text}")][:5]
    if ids or tokens:
        found = session.exec(select(ProcessorNotice).where(or_(
            ProcessorNotice.message_id.in_(ids), ProcessorNotice.token.in_(tokens))).order_by(ProcessorNotice.id)).first()
        if found is not None:
            return found
    references = find_ticket_references(msg.subject, prefix)[:5]
    if not references:
        return None
    candidates = session.exec(select(ProcessorNotice).join(Ticket, Ticket.id == ProcessorNotice.ticket_id)
                              .where(Ticket.reference.in_(references)).order_by(ProcessorNotice.id))
    return next((n for n in candidates if _domain(n.email) == _domain(msg.from_address)), None)


def note_processor_answer(ctx: MessageContext, session: Session, deps: Services) -> None:
    prefix = deps.settings.tickets.reference_prefix
    if ctx.opened_ticket or (notice := find_notice(session, ctx, prefix)) is None:
        return
    now, sender = deps.clock.now(), ctx.parsed.from_address
    if ctx.ticket is None:
        ctx.ticket = session.get(Ticket, notice.ticket_id)
        ctx.inbound.ticket_id = notice.ticket_id
    ctx.processor_answer = True   # not the requester's follow-up: no code or details are looked for
    event = dict(ticket_id=notice.ticket_id, inbound_id=inbound_id(ctx, session), party=notice.party,
                 notice_id=notice.id)
    if ctx.machine_reason:
        audit.record(session, now, "processor.machine_reply", reason=ctx.machine_reason, **event)
        return
    if _domain(sender) != _domain(notice.email):
        audit.record(session, now, "processor.answer_from_elsewhere", sender_domain=_domain(sender), **event)
        return
    notice.state = classify_answer(ctx.parsed.new_text or ctx.parsed.text)
    notice.answered_at, notice.answer_inbound_id = now, ctx.inbound.id
    notice.answer_text = (ctx.parsed.new_text or ctx.parsed.text)[:4000]
    notice.checked_by = notice.checked_at = None   # a new answer is checked anew
    session.add(notice)
    audit.record(session, now, "processor.answered", state=notice.state, checked=False, **event)


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()
