"""What the queue's search box and its "show only" filters mean as SQL conditions on Ticket."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import select

from bot.store.models import AccountEmail, AccountRecord, Draft, InboundMessage, Ticket
from bot.store.sla_models import DONE_STATUSES, TicketSla
from bot.tickets.opening import reference_condition

# "Show only" filters, combinable: each narrows the queue further.
FLAGS = ("mine", "draft", "waiting", "overdue")
WHOLE_REFERENCE = re.compile(r"esl-\d{6}(?:-[a-z0-9]{3})?")
WHOLE_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")


def _like(text: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


def text_search(q: str) -> list:
    """Part of a reference, address, subject, account nickname, phone or registered address, or of
    what the requester wrote (their name is usually in it); any case; every status."""
    q = q.strip().lower()
    if not q:
        return []
    if WHOLE_REFERENCE.fullmatch(q):   # what staff paste most: found by the index, not by a scan
        return [reference_condition(q)]   # the number alone finds it too (bot/tickets/opening.py)
    if WHOLE_ADDRESS.fullmatch(q):
        return [or_(Ticket.requester == q, Ticket.account_id.in_(
            select(AccountEmail.account_id).where(AccountEmail.email == q)))]
    like = _like(q)
    accounts = [func.lower(AccountRecord.nickname).like(like, escape="\\"),
                AccountRecord.emails.like(like, escape="\\"), AccountRecord.account_id == q]
    digits = re.sub(r"\D", "", q)
    if len(digits) >= 4 and len(digits) >= len(re.sub(r"[\s+()-]", "", q)):   # the query is a phone number
        accounts.append(AccountRecord.phone.like(_like(digits), escape="\\"))
    wrote = select(InboundMessage.ticket_id).where(InboundMessage.ticket_id.is_not(None), or_(
        func.lower(InboundMessage.sender).like(like, escape="\\"),
        func.lower(InboundMessage.new_text).like(like, escape="\\")))
    return [or_(func.lower(Ticket.reference).like(like, escape="\\"), Ticket.requester.like(like, escape="\\"),
                func.lower(Ticket.subject).like(like, escape="\\"),
                Ticket.account_id.in_(select(AccountRecord.account_id).where(or_(*accounts))),
                Ticket.id.in_(wrote))]


def on_the_clock():
    """Every ticket not yet answered or closed: open, its reply on the way, or its reply refused for good."""
    return Ticket.status.not_in(DONE_STATUSES)


def flag_conditions(flags: tuple[str, ...], staff: str, today_starts: datetime | None) -> list:
    """`today_starts`: midnight in the SLA zone; a ticket due before it is overdue."""
    found = []
    if "mine" in flags:
        found.append(Ticket.id.in_(select(TicketSla.ticket_id).where(TicketSla.assignee == staff.lower())))
    if "draft" in flags:
        found.append(Ticket.id.in_(select(Draft.ticket_id).where(Draft.status == "pending")))
    if "waiting" in flags:
        found.append(Ticket.waiting_on == "requester")
    if "overdue" in flags and today_starts is not None:
        found += [on_the_clock(), Ticket.due_at < today_starts]
    return found
