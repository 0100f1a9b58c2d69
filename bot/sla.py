"""The 15-day clock: when a request falls due, shown in the configured time zone."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import SlaSettings


def due_at(received_at: datetime, sla: SlaSettings) -> datetime:
    """Received + `sla.days` calendar days (the policy's promise), same wall-clock time."""
    zone = ZoneInfo(sla.timezone)
    local = received_at.astimezone(zone)
    return (local + timedelta(days=sla.days)).astimezone(received_at.tzinfo)


def local_date(moment: datetime, sla: SlaSettings) -> str:
    """The calendar date of `moment` in the configured zone, as YYYY-MM-DD."""
    return moment.astimezone(ZoneInfo(sla.timezone)).date().isoformat()


def days_left(due: datetime, now: datetime, sla: SlaSettings) -> int:
    """Whole calendar days from today to the due date, negative when overdue."""
    zone = ZoneInfo(sla.timezone)
    return (due.astimezone(zone).date() - now.astimezone(zone).date()).days
