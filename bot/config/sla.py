"""Settings for the SLA clock, reminders, the manager digest and staff recipients."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# bot.config imports this module, so it cannot import bot.config's Section; same rules.


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SlaRules(_Section):
    """The [sla] keys beyond `days` and `timezone`; bot.config's SlaSettings inherits them."""

    # "calendar": every day counts; "working": China's official working days (holidays
    # off, make-up working days on), per the chinese-calendar package.
    day_kind: Literal["calendar", "working"] = "calendar"
    # "received": the clock starts on receipt; "verified": it restarts when the requester is verified.
    clock_starts: Literal["received", "verified"] = "received"
    # Days spent waiting on the requester (a code, account details) are added to the due date.
    pause_while_waiting: bool = False
    # Corrections to the official calendar, e.g. next year's before the package knows it.
    extra_holidays: list[date] = []
    extra_workdays: list[date] = []


def sla_rules(sla: object) -> SlaRules:
    """The SlaRules of an [sla] section: its own values, or the defaults for keys it lacks."""
    if isinstance(sla, SlaRules):
        return sla
    return SlaRules(**{name: getattr(sla, name) for name in SlaRules.model_fields if hasattr(sla, name)})


class ReminderSettings(_Section):
    enabled: bool = True
    # Staff are reminded once when a ticket has this many days (or fewer) left.
    days_before: list[int] = [5, 2, 1]
    sweep_minutes: int = Field(15, ge=1, le=24 * 60)
    language: Literal["en", "zh"] = "en"

    @field_validator("days_before")
    @classmethod
    def sensible_offsets(cls, value: list[int]) -> list[int]:
        if any(days < 0 or days > 365 for days in value):
            raise ValueError("each reminder offset must be between 0 and 365 days")
        return sorted(set(value), reverse=True)


class DigestSettings(_Section):
    enabled: bool = True
    # Crontab fields (minute hour day month day-of-week) in the [sla] time zone.
    cron: str = "0 9 * * mon-fri"
    due_soon_days: int = Field(3, ge=0, le=30)
    backlog_days: int = Field(30, ge=2, le=120)
    list_limit: int = Field(50, ge=1, le=1000)

    @field_validator("cron")
    @classmethod
    def valid_crontab(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger   # only when a file sets a cron, not for every command
        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"not a crontab expression ({exc}); e.g. \"0 9 * * mon-fri\"") from None
        return value


class StaffSettings(_Section):
    # Who gets reminders for tickets with no assignee; overdue tickets also go to managers.
    reminders_to: list[str] = []
    # Who gets the digest and overdue escalations.
    managers: list[str] = []

    @field_validator("reminders_to", "managers")
    @classmethod
    def addresses(cls, value: list[str]) -> list[str]:
        bad = [address for address in value if address.count("@") != 1 or address.startswith("@")
               or address.endswith("@") or any(c.isspace() for c in address)]
        if bad:
            raise ValueError(f"not an email address: {', '.join(map(repr, bad))}")
        return [address.lower() for address in value]
