"""What mail says reaches the operator's terminal as text, never as terminal control sequences;
and an operational fault ends `supportbot` with one clear line and a non-zero exit, nothing lost."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from datetime import datetime, timezone


from bot.store.db import open_database
from bot.store.models import InboundMessage
from tests.support.bot_process import CLI

# Set the window title, turn text red, 8-bit CSI (C1) clear screen, bell.
HOSTILE = "\x1b]0;pwned\x07\x1b[31mred\x9b2J\x07 [bold]markup[/bold]"


def _supportbot(config, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="400")
    return subprocess.run([*CLI, "--config", str(config), *args], capture_output=True, text=True, env=env,
                          timeout=120)


def _config(tmp_path, url: str):
    config = tmp_path / "cfg.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    return config


def _store_hostile_message(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    with open_database(url)() as s:
        s.add(InboundMessage(dedup_key="k1", sender=f"x{HOSTILE}@example.org", subject=f"Hi {HOSTILE}",
                             raw=b"x", received_at=datetime(2026, 11, 24, tzinfo=timezone.utc),
                             new_text=f"Body {HOSTILE}", status="quarantined", quarantine_reason=HOSTILE))
        s.commit()
    return url


def test_messages_list_prints_no_terminal_control_sequences(tmp_path):
    config = _config(tmp_path, _store_hostile_message(tmp_path))
    table = _supportbot(config, "messages", "list")
    assert table.returncode == 0, table.stderr
    for control in ("\x1b", "\x9b", "\x07"):
        assert control not in table.stdout
    assert "markup" in table.stdout and "[bold]markup[/bold]" in table.stdout   # shown, not obeyed
    lines = _supportbot(config, "messages", "list", "--json")
    assert "\x1b" not in lines.stdout and "\x9b" not in lines.stdout
    row = json.loads(lines.stdout)
    assert row["subject"] == f"Hi {HOSTILE}"         # escaped in JSON, nothing lost


def test_a_read_only_database_ends_in_one_clear_line(tmp_path):
    _store_hostile_message(tmp_path)
    config = _config(tmp_path, f"sqlite:///file:{tmp_path / 'bot.db'}?mode=ro&uri=true")
    done = _supportbot(config, "suppressions", "add", "someone@example.org", "--reason", "asked")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "database error" in done.stderr and "readonly" in done.stderr
    with sqlite3.connect(tmp_path / "bot.db") as conn:     # nothing lost
        assert conn.execute("SELECT count(*) FROM inboundmessage").fetchone() == (1,)


def test_draft_text_keeps_its_lines_and_loses_its_controls():
    from bot.cli.tables import harmless, json_line
    assert harmless("a\x1b[2J\n\tb\x9b", keep="\n\t") == "a\\x1b[2J\n\tb\\x9b"
    assert json.loads(json_line({"s": "\x9b\x1b"})) == {"s": "\x9b\x1b"} and "\x9b" not in json_line({"s": "\x9b"})
