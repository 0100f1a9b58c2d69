"""What the command line says: flags without a type in --help, bad settings blamed on their source, the outbox."""
from __future__ import annotations

from datetime import timedelta

import click
import pytest
import typer
from sqlmodel import Session
from typer.testing import CliRunner

from bot.cli.main import app
from bot.config import ConfigError, load_settings
from bot.store.models import OutboxMessage
from bot.outbox.queue import waiting_mail

runner = CliRunner()


def _commands(command: click.Command, path: tuple[str, ...] = ()):
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_flags_show_no_type_in_help_and_values_keep_theirs():
    paths = list(_commands(typer.main.get_command(app)))
    assert len(paths) > 20
    for path in paths:
        shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "160"}).output
        assert "<bool>" not in shown, path
    assert "<file>" in runner.invoke(app, ["digest", "--help"], env={"COLUMNS": "160"}).output


def test_a_bad_environment_variable_is_named_not_a_missing_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPORTBOT_IMAP__PORT", "abc")
    with pytest.raises(ConfigError) as found:
        load_settings(tmp_path / "config.toml")                    # no such file: the defaults
    assert "environment variable SUPPORTBOT_IMAP__PORT (imap.port)" in str(found.value)
    assert "config.toml" not in str(found.value)
    (tmp_path / "config.toml").write_text("[imap]\nport = 993\n[smtp]\nport = 'x'\n")
    with pytest.raises(ConfigError) as found:
        load_settings(tmp_path / "config.toml")
    lines = str(found.value).splitlines()
    assert lines[0] == f"{tmp_path / 'config.toml'}: invalid configuration"
    assert any(line.startswith("  smtp.port:") for line in lines) and any("SUPPORTBOT_IMAP__PORT" in x for x in lines)


def test_the_outbox_says_what_still_waits_and_why(engine, clock):
    with Session(engine) as s:
        for n, (kind, attempts) in enumerate((("ack", 0), ("ack", 0), ("challenge", 0), ("reply-access", 2),
                                              ("ack", 1))):
            s.add(OutboxMessage(kind=kind, to_address="a@example.org", subject="s", message_id=f"<{n}@x>",
                                raw=b"x", status="pending", attempts=attempts, created_at=clock.now(),
                                next_attempt_at=clock.now() + timedelta(hours=1)))
        s.add(OutboxMessage(kind="ack", to_address="b@example.org", subject="s", message_id="<sent@x>", raw=b"x",
                            status="sent", created_at=clock.now(), next_attempt_at=clock.now()))
        s.commit()
        assert waiting_mail(s) == (3, 2)
