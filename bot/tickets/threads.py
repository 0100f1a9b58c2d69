"""Rules for threading: which ticket a message joins, and whether it is the requester's or a third party's."""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from bot.config import Settings
from bot.mail.parse import ParsedMessage
from bot.mail.subject import find_ticket_references
from bot.store.models import Challenge, InboundMessage, OutboxMessage, Ticket
from bot.verify.authresults import sender_authenticated

REQUESTER = "requester"             # feeds drafts, account details and codes
UNPROVEN = "requester-unproven"     # the requester's address, but nothing shows it was them: shown only
THIRD_PARTY = "third-party"         # anyone else on the thread: shown to staff as such, feeds nothing


@dataclass(frozen=True)
class ThreadMatch:
    ticket: Ticket
    by: str        # our-message | their-message | subject-reference
    party: str


def requester_addresses(session: Session, ticket: Ticket) -> set[str]:
    """The requester, the proven address, and where codes were sent: the addresses that speak for the request."""
    codes = session.exec(select(Challenge.reply_from).where(Challenge.ticket_id == ticket.id))
    return {a for a in (ticket.requester, ticket.verified_address, *codes) if a}


def party_of(session: Session, ticket: Ticket, sender: str, *, proven: bool) -> str:
    if sender not in requester_addresses(session, ticket):
        return THIRD_PARTY
    return REQUESTER if proven else UNPROVEN


def _first_in_order(rows: list[tuple[str, int]], ids: list[str]) -> int | None:
    by_id = dict(rows)
    return next((by_id[i] for i in ids if i in by_id), None)


def find_thread(session: Session, msg: ParsedMessage, settings: Settings) -> ThreadMatch | None:
    """Ours first: our Message-IDs are unpredictable and unique, a Message-ID of theirs anyone can claim.
    A subject reference alone joins only from the requester with a trusted authentication pass."""
    ids = [i for i in (*msg.in_reply_to, *msg.references) if i]
    authenticated = sender_authenticated(msg, settings.verification.trusted_authserv_ids)[0]
    if ids:
        ours = session.exec(select(OutboxMessage.message_id, OutboxMessage.ticket_id).where(
            OutboxMessage.message_id.in_(ids), OutboxMessage.ticket_id.is_not(None))).all()
        if (ticket_id := _first_in_order(list(ours), ids)) is not None:
            ticket = session.get(Ticket, ticket_id)
            return ThreadMatch(ticket, "our-message", party_of(session, ticket, msg.from_address, proven=True))
        theirs = session.exec(select(InboundMessage.message_id, InboundMessage.ticket_id).where(
            InboundMessage.message_id.in_(ids), InboundMessage.ticket_id.is_not(None))
            .order_by(InboundMessage.id.desc())).all()   # the first stored with an id wins
        if (ticket_id := _first_in_order(list(theirs), ids)) is not None:
            ticket = session.get(Ticket, ticket_id)
            return ThreadMatch(ticket, "their-message",
                               party_of(session, ticket, msg.from_address, proven=authenticated))
    if not authenticated:
        return None
    for ref in find_ticket_references(msg.subject, settings.tickets.reference_prefix):
        ticket = session.exec(select(Ticket).where(Ticket.reference == ref)).first()
        if ticket is not None and msg.from_address in requester_addresses(session, ticket):
            return ThreadMatch(ticket, "subject-reference", REQUESTER)
    return None
