"""One row per deletion notice to a processor (`[deletion] third_parties`): its token and its state."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from bot.store.models import UTCDateTime

WAITING = "waiting"
STATES = (WAITING, "confirmed", "refused", "question", "escalated")


def _utc(**kw):
    return Field(sa_column=Column(UTCDateTime(), **kw))


class ProcessorNotice(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    party: str                             # the processor's name as configured
    email: str                             # lower-cased
    token: str = Field(unique=True)        # "P-..." in the subject; answers carrying it thread here
    message_id: str = Field(index=True)    # the notice's Message-ID: answers' In-Reply-To
    outbox_id: Optional[int] = Field(default=None, foreign_key="outboxmessage.id")
    sent_at: datetime = _utc(nullable=False)             # queued; reminders count from here
    state: str = Field(default=WAITING, index=True)      # see STATES
    answer_inbound_id: Optional[int] = Field(default=None, foreign_key="inboundmessage.id")
    answered_at: Optional[datetime] = _utc(nullable=True)
    answer_text: str = ""                  # the new text of the answer, for staff to check
    checked_by: Optional[str] = None       # the staff member who checked the classification
    checked_at: Optional[datetime] = _utc(nullable=True)
    reminders: int = 0
    last_reminded_at: Optional[datetime] = _utc(nullable=True)
    escalated_at: Optional[datetime] = _utc(nullable=True)
