"""Settings: every one documented in config.example.toml, bad files named clearly, secrets from the environment."""
from __future__ import annotations

import tomllib

import pytest
from pydantic import BaseModel

from bot.config import ConfigError, Settings, load_settings
from tests.conftest import REPO

EXAMPLE = REPO / "config.example.toml"


def _keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            keys |= _keys(kind, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def _flatten(data: dict, prefix: str = "") -> set[str]:
    """section.key for every key in every [section], and section.sub.key in [section.sub] tables
    (an empty inline table such as `queries = {}` is a value, not a table)."""
    keys = set()
    for key, value in data.items():
        if isinstance(value, dict) and (value or not prefix):
            keys |= _flatten(value, f"{prefix}{key}.")
        else:
            keys.add(prefix + key)
    return keys


def test_every_setting_is_documented_in_the_example():
    documented = _flatten(tomllib.loads(EXAMPLE.read_text()))
    missing = _keys(Settings) - documented
    assert not missing, f"settings missing from config.example.toml: {sorted(missing)}"
    assert not documented - _keys(Settings), "config.example.toml documents settings that do not exist"


def test_example_values_are_the_defaults():
    assert load_settings(EXAMPLE, required=True).model_dump() == Settings().model_dump()


def test_bad_values_and_unknown_keys_are_named(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[imap]\nport = "abc"\nhots = "x"\n[sla]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    text = str(err.value)
    assert "imap.port" in text and "imap.hots: unknown setting" in text and "sla.timezone" in text


def test_broken_toml_and_missing_required_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[imap\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path)
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_settings(tmp_path / "absent.toml", required=True)
    assert load_settings(tmp_path / "absent.toml").imap.host == ""


def test_secrets_come_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text('[imap]\nhost = "imap.example.com"\nusername = "support"\n')
    monkeypatch.setenv("SUPPORTBOT_IMAP__PASSWORD", "from-env")
    monkeypatch.setenv("SUPPORTBOT_DATABASE__URL", "sqlite:///elsewhere.db")
    settings = load_settings(path)
    assert (settings.imap.host, settings.imap.password) == ("imap.example.com", "from-env")
    assert settings.database.url == "sqlite:///elsewhere.db"
