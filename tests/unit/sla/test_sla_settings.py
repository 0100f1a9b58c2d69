"""SLA settings: validated with clear messages, and every key documented in config.example.toml."""
from __future__ import annotations

import tomllib
from datetime import date
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from bot.config import Settings, SlaSettings
from bot.config.sla import DigestSettings, ReminderSettings, SlaRules, StaffSettings, sla_rules
from tests.conftest import REPO

SECTIONS = {"reminders": ReminderSettings, "digest": DigestSettings, "staff": StaffSettings}


def _example() -> dict:
    return tomllib.loads((REPO / "config.example.toml").read_text(encoding="utf-8"))


def test_every_sla_setting_is_documented_with_its_default():
    example = _example()
    for section, model in SECTIONS.items():
        assert example[section] == model().model_dump(), section
    documented = {k: v for k, v in example["sla"].items() if k in SlaRules.model_fields}
    assert documented == SlaRules().model_dump()


def test_bad_values_are_named():
    with pytest.raises(ValidationError, match="crontab"):
        DigestSettings(cron="every day at nine")
    with pytest.raises(ValidationError, match="not an email address: 'boss'"):
        StaffSettings(managers=["boss"])
    with pytest.raises(ValidationError, match="between 0 and 365"):
        ReminderSettings(days_before=[5, -1])
    with pytest.raises(ValidationError, match="day_kind"):
        SlaRules(day_kind="lunar")
    with pytest.raises(ValidationError, match="extra"):
        StaffSettings(manager=["boss@esl.example"])


def test_values_are_normalised():
    assert ReminderSettings(days_before=[1, 5, 2, 5]).days_before == [5, 2, 1]
    assert StaffSettings(managers=["Boss@ESL.example"]).managers == ["boss@esl.example"]
    assert SlaRules(extra_holidays=["2027-01-01"]).extra_holidays == [date(2027, 1, 1)]


def test_rules_of_an_sla_section_with_or_without_the_new_keys():
    assert sla_rules(SimpleNamespace(days=15, timezone="UTC")) == SlaRules()         # section without them
    assert sla_rules(SimpleNamespace(days=15, day_kind="working")).day_kind == "working"
    assert sla_rules(SlaSettings()).model_dump().items() >= SlaRules().model_dump().items()

    class Merged(SlaSettings, SlaRules):
        pass

    merged = Merged(day_kind="working")
    assert sla_rules(merged) is merged and sla_rules(merged).day_kind == "working"


def test_settings_carry_the_sla_sections_once_merged():
    if "reminders" not in Settings.model_fields:
        pytest.skip("bot.config does not include the SLA sections yet")
    settings = Settings()
    assert isinstance(settings.sla, SlaRules)
    assert {name: type(getattr(settings, name)) for name in SECTIONS} == SECTIONS
