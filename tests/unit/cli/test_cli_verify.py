"""`supportbot accounts import` and `supportbot verify` through the real command line."""
from __future__ import annotations

import json
import random
import subprocess
import sys

from bot.service.app import build_app
from sqlmodel import select

from bot.config import load_settings
from bot.intake.fetcher import drain_folder
from bot.store.models import AuditEvent
from tests.support import mailgen
from tests.support.memory_mailbox import MemoryMailbox
from tests.support.refs import plain


def cli(config, *args, check=True):
    done = subprocess.run([sys.executable, "-m", "bot.cli", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120)
    assert not check or done.returncode == 0, done.stdout + done.stderr
    return done


def test_import_then_staff_verify_and_refuse(tmp_path, database_url):
    config = tmp_path / "cfg.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n')
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,nickname,phone,email,wechat_bound,status\n"
                        "A1,alice,13800138000,user1@example.org,true,active\n")
    assert "imported 1 account" in cli(config, "accounts", "import", str(accounts)).stdout
    app = build_app(load_settings(config))
    box = MemoryMailbox()
    box.add(mailgen.request(1, rng=random.Random(0)))   # from user1@example.org
    box.add(mailgen.request(2, rng=random.Random(0)))   # nobody we know
    drain_folder(box, app.pipeline, folder="INBOX")

    tickets = {plain(t["reference"]): t for t in map(json.loads, cli(config, "tickets", "list", "--json").stdout.splitlines())}
    assert (tickets["ESL-000001"]["verification"], tickets["ESL-000001"]["account_id"]) == ("challenged", "A1")
    assert tickets["ESL-000002"]["verification"] == "unknown"

    assert cli(config, "verify", "ESL-000001", "--manual", check=False).returncode == 2     # no reason
    assert cli(config, "verify", "ESL-000002", "--manual", "--reason", "phoned us", check=False).returncode == 2
    cli(config, "verify", "ESL-000001", "--manual", "--reason", "called back on the registered phone", "--by", "li@esl")
    cli(config, "verify", "ESL-000002", "--refuse", "--reason", "no such account")
    tickets = {plain(t["reference"]): t for t in map(json.loads, cli(config, "tickets", "list", "--json").stdout.splitlines())}
    assert tickets["ESL-000001"]["verification"] == "verified" and tickets["ESL-000002"]["verification"] == "refused"
    with app.sessions() as s:
        manual = s.exec(select(AuditEvent).where(AuditEvent.action == "verification.verified")).one()
    assert manual.actor == "staff:li@esl" and "called back" in manual.detail


def test_bad_account_file_imports_nothing(tmp_path, database_url):
    config = tmp_path / "cfg.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n')
    bad = tmp_path / "a.csv"
    bad.write_text("account_id,nickname,phone,email,wechat_bound,status\nA1,a,13800138000,,,\nA2,b,999,,,\n")
    done = cli(config, "accounts", "import", str(bad), check=False)
    assert done.returncode == 1 and "a.csv:3" in done.stderr
    assert cli(config, "accounts", "list").stdout == ""
