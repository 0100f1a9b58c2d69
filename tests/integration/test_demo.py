"""`supportbot run` with no mailbox configured runs the demo on embedded pymap and aiosmtpd servers."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bot.cli.demo.samples import sample_messages


def test_run_without_configuration_runs_the_demo(tmp_path):
    # This checkout's code, whatever the venv has installed (the demo runs in an empty folder).
    env = dict(os.environ, COLUMNS="200", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    env.pop("SUPPORTBOT_IMAP__HOST", None)
    done = subprocess.run([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "built-in demo" in out
    tickets = int(re.search(r"Tickets \((\d+)\)", out).group(1))
    acks = int(re.search(r"Mail received by the SMTP server \((\d+)\)", out).group(1))
    messages = int(re.search(r"Inbound messages \((\d+)\)", out).group(1))
    assert messages == len(sample_messages()) + 1          # the samples and Alice's reply
    assert 12 <= tickets < len(sample_messages())          # machine mail and the follow-up open none
    # One acknowledgement per ticket, no more: with the code in it ("ack-code") where one is due.
    assert out.count("│ ack ") + out.count("│ ack-code ") == tickets
    assert acks > tickets                                  # plus mail that is no acknowledgement (codes to another address, notices)
    assert "ESL-000001" in out and "Reply due by" in out
    assert "verified (A1001)" in out                       # Alice proved it with the emailed code
    assert "verified (A1002)" in out                       # Li Lei by our MX's DMARC pass
    assert "challenged (A1004)" in out                     # no email on file: code by SMS
    assert not (tmp_path / "supportbot.db").exists()       # nothing outside demo/
    demo = tmp_path / "demo"
    assert (demo / "supportbot.db").exists() and "supportbot.db" in (demo / "config.toml").read_text()
    sent = int(re.search(r"Run 2 .*mail sent so far: (\d+)", out).group(1))
    assert sent == acks == len(list((demo / "mail").glob("*.eml")))   # what it says it sent, it lists and keeps
    assert "and 1 SMS, only logged" in out
    assert "supportbot --config demo/config.toml web" in out and "users add" in out

    again = subprocess.run([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "A demo is already in demo/: starting from it" in again.stdout
    assert f"Tickets ({tickets})" in again.stdout and "Run 1" not in again.stdout
    (demo / "left-over").write_text("from an earlier demo")
    fresh = subprocess.run([sys.executable, "-m", "bot.cli", "demo", "--reset"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 0 and "Run 1" in fresh.stdout and not (demo / "left-over").exists()
    assert len(list((demo / "mail").glob("*.eml"))) == acks
    done = subprocess.run([sys.executable, "-m", "bot.cli", "run", "--once", "--dry-run"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "nothing to dry-run" in done.stderr and "demo" not in done.stdout
