"""What the stages share: the message being handled, its place in the mailbox, the outcome, and the services."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import Session

from bot.classify import Classification, Classifier
from bot.clock import Clock
from bot.config import Settings
from bot.mail.parse import ParsedMessage
from bot.mail.render import MailRenderer
from bot.mail.sms import SmsSender
from bot.store.accounts import AccountSource
from bot.store.db import SessionFactory
from bot.store.models import Challenge, InboundMessage, MailboxState, OutboxMessage, Ticket
from bot.store.rows import insert_row


@dataclass(frozen=True)
class Location:
    """Where a message came from; uid 0 means it did not come from an IMAP folder."""

    folder: str
    uidvalidity: int
    uid: int
    arrived_at: datetime | None = None   # the server's INTERNALDATE, when known

    @property
    def place(self) -> tuple[str, int, int] | None:
        """Folder, UIDVALIDITY and UID, which name the message on the server; None from no folder."""
        return (self.folder, self.uidvalidity, self.uid) if self.uid else None


# One statement, no read first, built once: this runs for every message.
_STATE = MailboxState.__table__
_ADVANCE = update(_STATE).where(
    _STATE.c.folder == bindparam("in_folder"), _STATE.c.uidvalidity == bindparam("of_uidvalidity"),
    _STATE.c.last_uid < bindparam("to_uid")).values(last_uid=bindparam("to_uid"))


def advance_watermark(session: Session, location: Location) -> None:
    """Record, in the message's transaction, that the folder has been read up to its UID."""
    if not location.uid:
        return
    session.execute(_ADVANCE, {"in_folder": location.folder, "of_uidvalidity": location.uidvalidity,
                               "to_uid": location.uid})


@dataclass
class MessageContext:
    raw: bytes
    location: Location
    received_at: datetime
    parsed: ParsedMessage | None = None
    inbound: InboundMessage | None = None
    machine_reason: str | None = None
    ticket: Ticket | None = None
    opened_ticket: bool = False
    classification: Classification | None = None
    processor_answer: bool = False   # a processor answering a deletion notice (bot/intake/processor_answers.py)
    outbox: list[OutboxMessage] = field(default_factory=list)
    # What the acknowledgement carries besides, so that a request costs one automatic mail, not two:
    # a one-time code (the challenge it belongs to, and the code), or the question which account.
    ack_code: tuple[Challenge, str] | None = None
    ack_asks_account: bool = False
    # bot.verify's AccountMatch for a new request, found before its ticket is written (bot.verify.flow).
    account_match: object | None = None

    @property
    def outcome(self) -> str:
        if self.opened_ticket:
            return "new-ticket"
        if self.ticket is not None:
            return "follow-up"
        return "machine-mail" if self.machine_reason else "stored"


def inbound_id(ctx: MessageContext, session: Session) -> int:
    """The stored message's id, writing its row first if it is still pending (see stages.store)."""
    if ctx.inbound.id is None:
        insert_row(session, ctx.inbound)
    return ctx.inbound.id


class StopMessage(Exception):
    """Raised by a stage to end handling early (Mailman's Discard/Hold idea)."""


class Duplicate(StopMessage):
    """This message is already stored: handle nothing twice."""


class Quarantine(StopMessage):
    """A human must look at this message; it is stored, never retried automatically."""


@dataclass
class Services:
    """What every stage, and every service acting on a ticket, is handed (built in bot/service/app.py).

    Kept here, below tickets, verify and drafts, so that they can name it without importing the
    pipeline that runs them (bot/intake/runner.py's Pipeline adds the running)."""
    settings: Settings
    clock: Clock
    sessions: SessionFactory
    classifier: Classifier
    renderer: MailRenderer
    accounts: Callable[[Session], AccountSource]          # the account source, seen through a session
    sms: SmsSender | None = None
    dry_run: bool = False                                 # do everything, then roll back
    observer: Callable[[MessageContext], None] | None = None  # told of each handled message
