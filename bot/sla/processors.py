"""The managers' digest block on processors: deletion notices not (yet) confirmed."""
from __future__ import annotations

from sqlmodel import Session, select

from bot.store.models import Ticket
from bot.store.processor_models import ProcessorNotice

SHOWN = 50   # the oldest first; the ticket pages hold the rest


def unconfirmed(session: Session) -> list[dict]:
    """Notices escalated, refused, asking something, or waiting; answers not yet checked count too."""
    query = (select(ProcessorNotice, Ticket.reference).join(Ticket, Ticket.id == ProcessorNotice.ticket_id)
             .where((ProcessorNotice.state != "confirmed") | ProcessorNotice.checked_by.is_(None))
             .order_by(ProcessorNotice.sent_at, ProcessorNotice.id).limit(SHOWN))
    return [{"reference": reference, "party": n.party, "state": n.state, "since": n.sent_at,
             "reminders": n.reminders, "unchecked": n.answered_at is not None and n.checked_by is None}
            for n, reference in session.exec(query)]
