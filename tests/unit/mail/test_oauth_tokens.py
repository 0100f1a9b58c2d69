"""OAuth2 tokens: kept in memory while fresh, renewed early and on demand; settings checked; secrets hidden."""
from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import pytest

from bot.clock import FixedClock
from bot.config import ConfigError, Settings, load_settings
from bot.mail.oauth import TokenError, TokenSource
from bot.config.oauth import OAuth2Settings


def counting_command(tmp_path) -> list[str]:
    """A command printing token-1, token-2, ... one more each time it runs."""
    counter = tmp_path / "count"
    script = (f"import pathlib; p = pathlib.Path({str(counter)!r}); n = int(p.read_text() or 0) + 1 "
              f"if p.exists() else 1; p.write_text(str(n)); print(f'token-{{n}}')")
    return [sys.executable, "-c", script]


def test_a_token_is_reused_until_the_margin_before_expiry_then_renewed(tmp_path):
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    settings = OAuth2Settings(provider="command", command=counting_command(tmp_path),
                              command_token_seconds=600, refresh_margin_seconds=120)
    source = TokenSource(settings, "imap", "support@example.test", clock)
    assert source.token() == "token-1"
    clock.advance(timedelta(seconds=479))
    assert source.token() == "token-1"
    clock.advance(timedelta(seconds=2))          # within 120 s of expiry
    assert source.token() == "token-2"
    assert source.token(renew=True) == "token-3"  # a server refused it
    assert source.fetched == 3


def test_a_failing_command_is_a_token_error_without_its_output(tmp_path):
    settings = OAuth2Settings(provider="command",
                              command=[sys.executable, "-c", "import sys; print('s3cret'); sys.exit(3)"])
    with pytest.raises(TokenError, match="exited 3") as err:
        TokenSource(settings, "smtp", "u@example.test").token()
    assert "s3cret" not in str(err.value)


def test_oauth2_needs_a_provider_and_its_settings(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[imap]\nhost = "h"\nauth = "oauth2"\n[imap.oauth2]\nprovider = "microsoft"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert "username" in str(err.value) and "oauth2.client_id" in str(err.value)
    assert "oauth2.tenant_id" in str(err.value)


def test_secrets_come_from_the_environment_or_a_file_and_stay_out_of_reprs(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPORTBOT_IMAP__OAUTH2__CLIENT_SECRET", "from-env")
    secret_file = tmp_path / "refresh"
    secret_file.write_text("from-file\n")
    settings = Settings(imap={"auth": "oauth2", "username": "u@example.test", "oauth2": {
        "provider": "microsoft", "tenant_id": "t", "client_id": "c", "refresh_token_file": str(secret_file)}})
    oauth2 = settings.imap.oauth2
    assert oauth2.secret("client_secret") == "from-env"
    assert oauth2.secret("refresh_token") == "from-file"
    assert "from-env" not in repr(settings)
