"""Running the real `supportbot` command in a subprocess, and waiting for what it should do."""
from __future__ import annotations

import os
import subprocess
import sys
import time

CLI = [sys.executable, "-m", "bot.cli"]
IMAP_PASSWORD = "secret"   # the test Dovecot's password, given as a person would: in the environment


def start_bot(config, *args: str, stdout=subprocess.DEVNULL, **popen) -> subprocess.Popen:
    """`supportbot --config CONFIG run ARGS...`; stderr goes with stdout."""
    env = dict(os.environ, SUPPORTBOT_IMAP__PASSWORD=IMAP_PASSWORD)
    return subprocess.Popen([*CLI, "--config", str(config), "run", *args], env=env, stdout=stdout,
                            stderr=subprocess.STDOUT, **popen)


def wait_for(predicate, timeout: float, *, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False
