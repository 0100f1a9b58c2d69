"""Counting days for the SLA: calendar days, or China's official working days."""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import chinese_calendar

from bot.config.sla import sla_rules

if TYPE_CHECKING:
    from bot.config import SlaSettings

log = logging.getLogger(__name__)


@lru_cache(maxsize=None)
def _warn_unknown_year(year: int) -> None:
    # The package ships each year's calendar once the State Council announces it.
    log.warning("chinese-calendar has no data for %d: counting Monday-Friday as working days "
                "(add [sla] extra_holidays / extra_workdays, or upgrade chinese-calendar)", year)


def is_working_day(day: date, sla: SlaSettings) -> bool:
    """Whether `day` counts in working-day mode (official holidays off, make-up days on)."""
    rules = sla_rules(sla)
    if day in rules.extra_workdays:
        return True
    if day in rules.extra_holidays:
        return False
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        _warn_unknown_year(day.year)
        return day.weekday() < 5


def counted_days(after: date, until: date, sla: SlaSettings) -> int:
    """How many days that count lie in (after, until]; 0 when until is not later."""
    if until <= after:
        return 0
    if sla_rules(sla).day_kind == "calendar":
        return (until - after).days
    return sum(is_working_day(after + timedelta(days=n), sla) for n in range(1, (until - after).days + 1))


def add_days(start: datetime, days: int, sla: SlaSettings) -> datetime:
    """`days` counted days after `start`, at the same wall-clock time in the configured zone."""
    zone = ZoneInfo(sla.timezone)
    local = start.astimezone(zone)
    if sla_rules(sla).day_kind == "calendar":
        return (local + timedelta(days=days)).astimezone(start.tzinfo)
    day, left = local.date(), days
    while left > 0:
        day += timedelta(days=1)
        left -= is_working_day(day, sla)
    return datetime.combine(day, local.timetz()).astimezone(start.tzinfo)


def day_start(day: date, sla: SlaSettings) -> datetime:
    """Midnight at the start of `day` in the configured zone (an aware datetime)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(sla.timezone))


def local_day(moment: datetime, sla: SlaSettings) -> date:
    return moment.astimezone(ZoneInfo(sla.timezone)).date()


def due_at(received_at: datetime, sla: SlaSettings) -> datetime:
    """Received + `sla.days` (calendar days by default, the policy's promise), same wall-clock time."""
    return add_days(received_at, sla.days, sla)


def local_date(moment: datetime, sla: SlaSettings) -> str:
    """The calendar date of `moment` in the configured zone, as YYYY-MM-DD."""
    return local_day(moment, sla).isoformat()


def days_left(due: datetime, now: datetime, sla: SlaSettings) -> int:
    """Whole calendar days from today to the due date, negative when overdue."""
    return (local_day(due, sla) - local_day(now, sla)).days
