"""The due date: calendar days by default, China's working days (holidays, make-up days) when configured."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from bot.sla import days_left, due_at, local_date
from bot.sla.calendar import add_days, counted_days, is_working_day
from tests.unit.sla.test_sla_support import sla_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(y, m, d, hour=10) -> datetime:
    return datetime(y, m, d, hour, tzinfo=SHANGHAI).astimezone(timezone.utc)


def _working(**sla):
    return sla_settings(sla={"day_kind": "working", **sla}).sla


def test_default_is_received_plus_15_calendar_days_with_the_settings_of_today():
    received = _at(2026, 9, 18)
    # The [sla] section as bot.config has it now (no SlaRules keys) keeps the old behaviour.
    assert due_at(received, Settings().sla) == received + timedelta(days=15)
    assert due_at(received, sla_settings().sla) == received + timedelta(days=15)
    assert local_date(due_at(received, Settings().sla), Settings().sla) == "2026-10-03"


def test_working_days_skip_mid_autumn_and_national_day_and_count_make_up_days():
    # 2026 (as chinese-calendar records the State Council's arrangement): Sun 20 Sep and Sat 10 Oct
    # are working days; 25-27 Sep (Mid-Autumn) and 1-7 Oct (National Day) are off.
    # After Fri 18 Sep: 20, 21, 22, 23, 24 | 28, 29, 30 | 8, 9, 10, 12, 13, 14, 15 Oct = 15.
    due = due_at(_at(2026, 9, 18), _working())
    assert due == _at(2026, 10, 15)
    assert due.astimezone(SHANGHAI).hour == 10  # same wall-clock time as the receipt


def test_spring_festival_make_up_saturday_counts_and_the_holiday_week_does_not():
    sla = _working(days=1)
    assert due_at(_at(2026, 2, 13), sla) == _at(2026, 2, 14)          # Saturday, a make-up working day
    assert add_days(_at(2026, 2, 13), 2, sla) == _at(2026, 2, 24)     # 15-23 Feb off
    assert counted_days(date(2026, 2, 13), date(2026, 3, 1), sla) == 6  # 14, 24, 25, 26, 27, 28


def test_received_on_a_holiday_counts_from_the_next_working_day():
    assert add_days(_at(2026, 10, 3), 1, _working()) == _at(2026, 10, 8)


def test_calendar_counting_ignores_holidays():
    sla = sla_settings().sla
    assert counted_days(date(2026, 9, 30), date(2026, 10, 8), sla) == 8
    assert counted_days(date(2026, 10, 8), date(2026, 10, 8), sla) == 0


def test_extra_holidays_and_workdays_override_the_package():
    sla = _working(extra_holidays=[date(2026, 12, 1)], extra_workdays=[date(2026, 12, 5)])
    assert not is_working_day(date(2026, 12, 1), sla)   # a Tuesday made a holiday
    assert is_working_day(date(2026, 12, 5), sla)       # a Saturday made a working day
    # Mon 30 Nov + 3: (1 Dec off) 2, 3, 4 -> Fri 4 Dec; + 4 -> the extra Saturday.
    assert add_days(_at(2026, 11, 30), 3, sla) == _at(2026, 12, 4)
    assert add_days(_at(2026, 11, 30), 4, sla) == _at(2026, 12, 5)


def test_a_year_the_package_does_not_know_falls_back_to_weekdays_with_a_warning(caplog):
    sla = _working()
    with caplog.at_level(logging.WARNING, logger="bot.sla.calendar"):
        # Fri 2030-01-04 + 1 working day -> Mon 2030-01-07 (2030 is beyond the package's data).
        assert add_days(_at(2030, 1, 4), 1, sla) == _at(2030, 1, 7)
    assert "2030" in caplog.text


@pytest.mark.parametrize("hour, expected", [(0, 15), (23, 15)])
def test_days_left_counts_local_dates(hour, expected):
    sla = sla_settings().sla
    received = _at(2026, 11, 24, hour)
    assert days_left(due_at(received, sla), received, sla) == expected
    assert days_left(_at(2026, 11, 24, 9), _at(2026, 11, 25, 1), sla) == -1
    assert days_left(_at(2026, 11, 24, 9), _at(2026, 11, 24, 23), sla) == 0
