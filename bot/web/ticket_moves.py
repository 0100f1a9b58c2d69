"""Around one ticket: who may own it, which account a staff member means, and the ticket after it."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import and_, or_
from sqlmodel import Session, select

from bot.store.accounts import Account, AccountSource
from bot.store.accounts.phones import mask_phone, normalize_phone
from bot.store.models import StaffUser, Ticket
from bot.store.sla_models import TicketSla
from bot.web.search import on_the_clock


def staff_addresses(session: Session) -> list[str]:
    """Active staff accounts: the only people a ticket can be assigned to."""
    return list(session.exec(select(StaffUser.email).where(StaffUser.active).order_by(StaffUser.email)))


def assignee_of(session: Session, ticket: Ticket) -> str | None:
    row = session.get(TicketSla, ticket.id)
    return row.assignee if row else None


def look_up_accounts(accounts: AccountSource, text: str, region: str = "CN") -> list[Account]:
    """The accounts `text` names: an account id, a registered address, a phone number or a nickname.

    Phones are masked: staff confirm a number the requester gives, the page does not reveal it."""
    text = text.strip()
    if not text:
        return []
    found = [accounts.get(text)] if accounts.get(text) else []
    if "@" in text:
        found += accounts.by_email(text.lower())
    phone = normalize_phone(text, region)
    if phone:
        found += accounts.by_phone(phone)
    found += accounts.by_nickname(text)
    unique = {a.account_id: a for a in found}
    return [replace(a, phone=mask_phone(a.phone) if a.phone else "") for a in unique.values()]


def next_in_queue(session: Session, ticket: Ticket) -> str | None:
    """The ticket still on the clock after this one in the everyday queue's order (due date, number);
    the first when at the end."""
    others = select(Ticket.reference).where(on_the_clock(), Ticket.id != ticket.id)
    after = or_(Ticket.due_at > ticket.due_at, and_(Ticket.due_at == ticket.due_at, Ticket.id > ticket.id))
    return (session.exec(others.where(after).order_by(Ticket.due_at, Ticket.id)).first()
            or session.exec(others.order_by(Ticket.due_at, Ticket.id)).first())
