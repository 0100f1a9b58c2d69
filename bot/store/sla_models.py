"""SLA tables: per-ticket clock facts, pauses, extensions, reminders and digests sent."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.models import Ticket, UTCDateTime

# Statuses that end a ticket; every other status is open and on the clock.
DONE_STATUSES = ("answered", "closed")


def _utc(**kw):
    return Field(sa_column=Column(UTCDateTime(), **kw))


class TicketSla(SQLModel, table=True):
    """What the ticket row does not carry: a restarted clock, completion, and who owns it."""

    ticket_id: int = Field(primary_key=True, foreign_key="ticket.id")
    clock_started_at: Optional[datetime] = _utc(nullable=True)   # set when the clock starts on verification
    completed_at: Optional[datetime] = _utc(nullable=True, index=True)
    on_time: Optional[bool] = None         # answered by the end of its due date (configured zone)
    assignee: Optional[str] = Field(default=None, index=True)    # a staff address


class SlaPause(SQLModel, table=True):
    """A wait on the requester; its days are added to the due date when [sla] pause_while_waiting."""

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    started_at: datetime = _utc(nullable=False)
    ended_at: Optional[datetime] = _utc(nullable=True)


class SlaExtension(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    days: int
    reason: str
    actor: str
    at: datetime = _utc(nullable=False)
    old_due_at: datetime = _utc(nullable=False)
    new_due_at: datetime = _utc(nullable=False)


class ReminderSent(SQLModel, table=True):
    """One row per ticket, threshold and due date: the unique key makes each reminder go once."""

    __table_args__ = (UniqueConstraint("ticket_id", "threshold", "due_at", name="uq_reminder_once"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    threshold: str                         # "5d", "2d", "1d" ... or "overdue"
    due_at: datetime = _utc(nullable=False)   # an extension moves the due date and re-arms reminders
    sent_at: datetime = _utc(nullable=False)
    recipients: str = ""                   # comma-separated


class DigestSent(SQLModel, table=True):
    """A scheduled digest, by the cron slot it was for: sent once, even across restarts."""

    slot: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    sent_at: datetime = _utc(nullable=False)
    recipients: str = ""


# The digest and the sweep read open tickets by due date, and windows by receipt date
# (a migration adds them to existing databases).
TICKET_INDEXES = (
    Index("ix_ticket_status_due_at", Ticket.__table__.c.status, Ticket.__table__.c.due_at),
    Index("ix_ticket_received_at", Ticket.__table__.c.received_at),
)

