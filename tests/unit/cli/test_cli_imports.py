"""Commands import only what they use: no spaCy, FastAPI or uvicorn unless a message is classified or the console served."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot.cli.demo.imap_server import EmbeddedImapServer

REPO = Path(__file__).resolve().parents[3]
HEAVY = ("spacy", "fastapi", "uvicorn", "apscheduler", "alembic", "sqlalchemy", "pydantic",
         "inscriptis", "flufl.bounce")   # HTML-only mail and delivery reports: rare, and 70 ms to import
# Runs one command as `python -m bot.cli` does, then reports which of HEAVY it left imported.
PROBE = f"""
import json, runpy, sys
sys.argv = ["supportbot", *sys.argv[1:]]
try:
    runpy.run_module("bot.cli", run_name="__main__")
except SystemExit as exit:
    assert not exit.code, exit.code
print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
"""


def imported(folder: Path, *args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, "--config", str(folder / "config.toml"), *args],
                          cwd=folder, env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture
def imap():
    with EmbeddedImapServer() as server:
        yield server


@pytest.fixture
def folder(tmp_path, imap, smtp) -> Path:
    (tmp_path / "config.toml").write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n'
        f'[imap]\nhost = "{imap.host}"\nport = {imap.port}\nsecurity = "none"\n'
        f'username = "{imap.username}"\npassword = "{imap.password}"\n'
        f'[smtp]\nhost = "{smtp.host}"\nport = {smtp.port}\nsecurity = "none"\n')
    return tmp_path


def test_help_imports_neither_settings_nor_database(folder):
    assert imported(folder, "--help") == set()


def test_everyday_commands_import_no_classifier_console_or_scheduler(folder):
    assert imported(folder, "init") == {"sqlalchemy", "pydantic", "alembic"}   # a new database: made, then stamped
    for command in (["tickets", "list", "--json"], ["users", "list", "--json"]):
        assert imported(folder, *command) == {"sqlalchemy", "pydantic"}, command   # alembic only to change a schema


def test_a_run_loads_the_classifier_only_for_a_message_to_classify(folder, imap):
    imported(folder, "init")
    assert imported(folder, "run", "--once") == {"sqlalchemy", "pydantic"}
    request = EmailMessage()
    request["From"], request["To"], request["Subject"] = "ann@example.org", imap.username, "Delete my account"
    request.set_content("Please delete my account and all my data.")
    imap.append(request.as_bytes())
    assert imported(folder, "run", "--once") == {"sqlalchemy", "pydantic", "spacy"}
