"""Tickets: opening one for a new request (reference, due date), and staff reclassifying it."""
from __future__ import annotations

import re
import secrets
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import String, bindparam, case, cast, func, insert
from sqlmodel import Session, or_, select

from bot.store import audit
from bot.store.batch_index import note_ticket
from bot.store.models import Draft, InboundMessage, Ticket
from bot.store.rows import insert_row, new_row, update_row
from bot.sla import due_at

if TYPE_CHECKING:
    from bot.mail.context import MessageContext
    from bot.mail.context import Services


# Check letters: no 0/O, 1/I/L, 2/Z, 5/S, 8/B to misread; 25^3 = 15,625 per number.
CHECK_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
_NUMBER_ONLY = re.compile(r"[A-Z]+-\d{6,}")


def format_reference(prefix: str, ticket_id: int, check: str | None = None) -> str:
    """"ESL-000123-K7M": the number, and three random check letters so a reference cannot be guessed."""
    check = check if check is not None else "".join(secrets.choice(CHECK_ALPHABET) for _ in range(3))
    return f"{prefix}-{ticket_id:06d}-{check}"


def reference_condition(text: str):
    """For staff (signed in): the whole reference, or its number alone ("ESL-000123"); requesters'
    mail is matched on the whole reference only (bot/tickets/threads.py)."""
    reference = text.strip().upper()
    if _NUMBER_ONLY.fullmatch(reference):
        return or_(Ticket.reference == reference, Ticket.reference.like(f"{reference}-%"))
    return Ticket.reference == reference


def find_by_reference(session: Session, text: str) -> Ticket | None:
    return session.exec(select(Ticket).where(reference_condition(text))).first()


def new_ticket(ctx: MessageContext, deps: Services) -> Ticket:
    """The ticket a new request opens, not written yet (open_ticket writes it)."""
    settings, result, msg = deps.settings, ctx.classification, ctx.parsed
    return new_row(
        Ticket,
        subject=msg.subject[:998],
        kind=result.kind,
        labels=",".join(result.labels),
        confidence=round(result.confidence, 4),
        needs_triage=result.confidence < settings.tickets.triage_threshold,
        requester=msg.from_address,
        language=result.language,
        received_at=ctx.received_at,
        due_at=due_at(ctx.received_at, settings.sla),
    )


def open_ticket(session: Session, ctx: MessageContext, deps: Services, ticket: Ticket | None = None) -> Ticket:
    """Write the new request's ticket (new_ticket's, or `ticket`), its reference, and link the message to it."""
    ticket = ticket if ticket is not None else new_ticket(ctx, deps)
    # The message, if still pending (bot.intake.stages.store), is written after its ticket, with
    # the ticket's id: one INSERT rather than an INSERT and an UPDATE.
    pending = ctx.inbound in session.new
    if pending:
        session.expunge(ctx.inbound)
    # The id is the reference's number, unique without a counter table: both written in one statement.
    insert_row(session, ticket, _insert_with_reference(session.connection().dialect.name),
               prefix=deps.settings.tickets.reference_prefix, check=format_reference("", 0)[-3:])
    note_ticket(session, ticket)   # a duplicate later in the batch finds it
    if pending:
        ctx.inbound.ticket_id, ctx.inbound.opened_ticket, ctx.inbound.party = ticket.id, True, "requester"
        insert_row(session, ctx.inbound)
    else:
        update_row(session, ctx.inbound, ticket_id=ticket.id, opened_ticket=True, party="requester")
    audit.record(
        session, deps.clock.now(), "ticket.opened", ticket_id=ticket.id, inbound_id=ctx.inbound.id,
        reference=ticket.reference, kind=ticket.kind, labels=ticket.labels,
        confidence=ticket.confidence, language=ticket.language, due_at=ticket.due_at,
        needs_triage=ticket.needs_triage,
    )
    return ticket


@cache
def _insert_with_reference(dialect: str):
    """The ticket, and format_reference's reference of the id it gets, in one INSERT ... SELECT. The id
    is the one the database would give it anyway: the sequence's next value on PostgreSQL, the largest
    plus one on SQLite (a rowid table without AUTOINCREMENT, written under its one-writer lock)."""
    table = Ticket.__table__
    if dialect == "postgresql":
        next_id = select(func.nextval(func.pg_get_serial_sequence(table.name, "id")).label("id")).subquery()
        digits = cast(next_id.c.id, String)
        number = case((next_id.c.id < 1_000_000, func.lpad(digits, 6, "0")), else_=digits)
    else:
        next_id = select((func.coalesce(func.max(table.c.id), 0) + 1).label("id")).subquery()
        number = func.printf("%06d", next_id.c.id)
    reference = bindparam("prefix", type_=String) + "-" + number + "-" + bindparam("check", type_=String)
    columns = [c for c in table.columns if c.name not in ("id", "reference")]
    values = select(next_id.c.id, reference, *(bindparam(c.name, type_=c.type) for c in columns))
    return insert(table).from_select(["id", "reference", *(c.name for c in columns)], values).returning(
        table.c.id, table.c.reference)


def reclassify(session: Session, ticket: Ticket, kind: str, deps: Services, *, actor: str) -> None:
    """Staff correct the kind: the draft follows, and a rights request starts verification if needed."""
    from bot.classify import KINDS
    from bot.drafts.create import create_draft
    from bot.mail.parse import parse_message
    from bot.mail.context import Location, MessageContext
    from bot.verify import flow

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    old, now = ticket.kind, deps.clock.now()
    ticket.kind, ticket.labels, ticket.needs_triage = kind, kind, False
    session.add(ticket)
    audit.record(session, now, "ticket.reclassified", ticket_id=ticket.id, actor=actor, old=old, new=kind)
    if kind == "other" or ticket.verification == "verified":
        create_draft(session, ticket, deps, actor=actor)
    elif ticket.verification == "pending":
        opening = session.exec(select(InboundMessage).where(
            InboundMessage.ticket_id == ticket.id, InboundMessage.opened_ticket == True)).first()  # noqa: E712
        if opening is not None:
            ctx = MessageContext(raw=opening.raw, location=Location(opening.folder, opening.uidvalidity, opening.uid),
                                 received_at=opening.received_at, parsed=parse_message(opening.raw),
                                 inbound=opening, ticket=ticket, opened_ticket=True)
            flow.begin(session, ctx, deps)
    for draft in session.exec(select(Draft).where(Draft.ticket_id == ticket.id, Draft.status == "pending",
                                                  Draft.kind != kind)):
        draft.status = "superseded"  # a draft for the old kind must not be approved by mistake
        session.add(draft)
