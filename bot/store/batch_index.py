"""What a fetched batch's messages look up (stored already? duplicate candidates, accounts): one query each."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, bindparam, event, or_, select
from sqlmodel import Session

from bot.store.models import InboundMessage, Ticket
from bot.store.sla_models import DONE_STATUSES

_INFO_KEY = "batch_index"
_INBOUND, _TICKET = InboundMessage.__table__, Ticket.__table__
# Stored already, one message: the same content key or (from a folder) the same place.
_SAME_KEY = select(_INBOUND.c.id).where(_INBOUND.c.dedup_key == bindparam("key")).limit(1)
_SAME_KEY_OR_PLACE = select(_INBOUND.c.id).where(or_(
    _INBOUND.c.dedup_key == bindparam("key"),
    (_INBOUND.c.folder == bindparam("folder")) & (_INBOUND.c.uidvalidity == bindparam("uidvalidity"))
    & (_INBOUND.c.uid == bindparam("uid")))).limit(1)
# The columns link_duplicate's rule reads, for the open tickets of the batch's senders.
_OPEN_TICKETS = select(_TICKET.c.id, _TICKET.c.kind, _TICKET.c.labels, _TICKET.c.needs_triage,
                       _TICKET.c.requester, _TICKET.c.received_at).where(
    _TICKET.c.requester.in_(bindparam("requesters", expanding=True)),
    _TICKET.c.status.not_in(DONE_STATUSES), _TICKET.c.received_at >= bindparam("since"))


class _OpenTicket(NamedTuple):   # a row of _OPEN_TICKETS
    id: int
    kind: str
    labels: str
    needs_triage: bool
    requester: str
    received_at: datetime


@dataclass(frozen=True)
class Expected:
    """One message of the batch, as its lookups need it."""
    key: str                               # the content key (bot/intake/stages.dedup_key)
    place: tuple[str, int, int] | None     # folder, UIDVALIDITY, UID; None when it came from no folder
    sender: str                            # From, lower-case; "" when none
    received_at: datetime


class BatchIndex:
    """The answers for every message of the batch, each kind read with one query the first time it is
    asked, then kept up to date as the batch writes (note_stored, note_ticket). A question about
    anything else (another key, requester or address, an older window) gets None: ask the database.
    What another process commits meanwhile (PostgreSQL) is seen from the next batch on."""

    def __init__(self, expected: Iterable[Expected]) -> None:
        expected = list(expected)
        self.keys, self.places = {e.key for e in expected}, {e.place for e in expected if e.place}
        self.senders = {e.sender for e in expected if e.sender}
        self.earliest = min(e.received_at for e in expected)
        self.stored: tuple[set[str], set[tuple]] | None = None   # keys and places stored
        self.open_tickets: dict[str, list] | None = None         # by requester, as _OPEN_TICKETS reads them
        self.window_start: datetime | None = None
        self.accounts: dict | None = None                        # by address


def attach(session: Session, expected: Iterable[Expected]) -> None:
    """Keep an index of the batch in `session`: it dies with the session, and with any rollback in it
    (a savepoint's too), after which every lookup asks the database again."""
    session.info[_INFO_KEY] = BatchIndex(expected)
    event.listen(session, "after_soft_rollback", _forget)


def _forget(session: Session, previous_transaction) -> None:
    session.info.pop(_INFO_KEY, None)


def _index(session: Session) -> BatchIndex | None:
    return session.info.get(_INFO_KEY)


def stored_already(session: Session, key: str, place: tuple[str, int, int] | None) -> bool:
    """Is a message with this content key (or, from a folder, at this place) stored? The batch's
    index answers for its messages; any other is one query."""
    index = _index(session)
    if index is None or key not in index.keys or (place is not None and place not in index.places):
        params = {"key": key} if place is None else dict(zip(("folder", "uidvalidity", "uid"), place), key=key)
        return session.connection().execute(_SAME_KEY if place is None else _SAME_KEY_OR_PLACE, params).first() \
            is not None
    if index.stored is None:
        by_folder: dict[tuple[str, int], list[int]] = {}
        for folder, uidvalidity, uid in index.places:
            by_folder.setdefault((folder, uidvalidity), []).append(uid)
        rows = session.connection().execute(
            select(_INBOUND.c.dedup_key, _INBOUND.c.folder, _INBOUND.c.uidvalidity, _INBOUND.c.uid).where(or_(
                _INBOUND.c.dedup_key.in_(sorted(index.keys)),
                *(and_(_INBOUND.c.folder == folder, _INBOUND.c.uidvalidity == uidvalidity, _INBOUND.c.uid.in_(uids))
                  for (folder, uidvalidity), uids in by_folder.items()))))
        index.stored = (set(), set())
        for row in rows:
            index.stored[0].add(row.dedup_key)
            index.stored[1].add((row.folder, row.uidvalidity, row.uid))
    return key in index.stored[0] or (place is not None and place in index.stored[1])


def note_stored(session: Session, key: str, place: tuple[str, int, int] | None) -> None:
    """A message this session stores (its row may still be pending): the next ask finds it."""
    index = _index(session)
    if index is not None and index.stored is not None:
        index.stored[0].add(key)
        if place is not None:
            index.stored[1].add(place)


def open_tickets_of(session: Session, requester: str, received_at: datetime, window: timedelta) -> list:
    """The requester's open tickets received within `window` before `received_at`, newest first, as
    _OPEN_TICKETS reads them: from the batch's index for its senders, else one query."""
    index, since = _index(session), received_at - window
    if index is not None and requester in index.senders and index.open_tickets is None:
        index.window_start = min(index.earliest, received_at) - window
        index.open_tickets = {}
        rows = session.connection().execute(_OPEN_TICKETS, {"requesters": sorted(index.senders),
                                                            "since": index.window_start})
        for row in rows:
            index.open_tickets.setdefault(row.requester, []).append(row)
    if index is None or requester not in index.senders or since < index.window_start:
        rows = session.connection().execute(_OPEN_TICKETS, {"requesters": [requester], "since": since})
    else:
        rows = [row for row in index.open_tickets.get(requester, ()) if row.received_at >= since]
    return sorted(rows, key=lambda row: (row.received_at, row.id), reverse=True)


def note_ticket(session: Session, ticket: Ticket) -> None:
    """A ticket this session opened: a duplicate later in the batch finds it."""
    index = _index(session)
    if index is not None and index.open_tickets is not None and ticket.requester in index.senders:
        row = _OpenTicket(ticket.id, ticket.kind, ticket.labels, ticket.needs_triage, ticket.requester,
                          ticket.received_at)
        index.open_tickets.setdefault(ticket.requester, []).append(row)


def accounts_by_email(session: Session, email: str, load: Callable[[list[str]], dict]) -> list | None:
    """The accounts registered with `email` (lower-case), `load` reading those of every sender of the
    batch at the first ask; None: not known here."""
    index = _index(session)
    if index is None or email not in index.senders:
        return None
    if index.accounts is None:
        index.accounts = load(sorted(index.senders))
    return index.accounts.get(email, [])
