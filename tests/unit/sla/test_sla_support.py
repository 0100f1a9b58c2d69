"""Shared helpers for the SLA tests (no tests here): settings as bot.config will hold them, tickets."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.config import Settings, SlaSettings
from bot.store.models import Ticket
from bot.config.sla import DigestSettings, ReminderSettings, SlaRules, StaffSettings

STAFF, BOSS = "staff@esl.example", "boss@esl.example"


class MergedSla(SlaSettings, SlaRules):
    """[sla] with the SlaRules keys, whether or not bot.config has merged them yet."""


class MergedSettings(Settings):
    sla: MergedSla = MergedSla()
    reminders: ReminderSettings = ReminderSettings()
    digest: DigestSettings = DigestSettings()
    staff: StaffSettings = StaffSettings()


def sla_settings(**sections) -> MergedSettings:
    sections.setdefault("smtp", {"from_address": "support@esl.example", "host": "127.0.0.1", "security": "none"})
    sections.setdefault("staff", {"reminders_to": [STAFF], "managers": [BOSS]})
    return MergedSettings(**sections)


def add_ticket(session: Session, settings: Settings, received_at: datetime, *, kind: str = "access",
               status: str = "open", due_in_days: int | None = None, **fields) -> Ticket:
    """A ticket as intake makes it: the reference from its id, due from the [sla] rules (or given)."""
    from bot.sla import due_at
    due = received_at + timedelta(days=due_in_days) if due_in_days is not None else due_at(received_at, settings.sla)
    ticket = Ticket(kind=kind, status=status, requester=fields.pop("requester", "user@example.org"),
                    received_at=received_at, due_at=due, **fields)
    session.add(ticket)
    session.flush()
    ticket.reference = f"ESL-{ticket.id:06d}"
    session.add(ticket)
    session.flush()
    return ticket
