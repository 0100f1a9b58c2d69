"""Benchmark: supportbot against django-helpdesk on the same generated mailbox, alternating, in one run.

Uses the side-by-side harness in ../shared/peer-bench (its own Dovecot, SMTP sink and verifier);
skipped when that is absent. The first run builds the peer's venv from PyPI (once, under /tmp)."""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT.parent / "shared" / "peer-bench" / "bench"
MESSAGES = int(os.environ.get("SUPPORTBOT_BENCH_PEER_MESSAGES", "1000"))
ROUNDS = int(os.environ.get("SUPPORTBOT_BENCH_PEER_ROUNDS", "2"))
_LAST_LINE = re.compile(r"(\d+) msgs in ([\d.]+) s = ([\d.]+) msg/s")
_CPU = re.compile(r"(User|System) time \(seconds\): ([\d.]+)")


def _run(script: str, env: dict, timing: Path) -> tuple[float, float]:
    """One pass: (messages a second, CPU seconds of the timed process, from /usr/bin/time -v)."""
    done = subprocess.run(["bash", str(HARNESS / script), str(MESSAGES)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rate = float(_LAST_LINE.findall(done.stdout + done.stderr)[-1][2])
    return rate, sum(float(seconds) for _, seconds in _CPU.findall(timing.read_text()))


@pytest.mark.skipif(not HARNESS.is_dir(), reason="../shared/peer-bench is not here")
def test_against_django_helpdesk(tmp_path):
    bot = tmp_path / "supportbot"   # this checkout's code, whatever venv runs it
    bot.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m bot.cli "$@"\n')
    bot.chmod(0o755)
    env = dict(os.environ, BOT=str(bot), PYTHONPATH=str(ROOT))
    rates: dict[str, list[float]] = {"django-helpdesk": [], "supportbot": []}
    cpu: dict[str, list[float]] = {"django-helpdesk": [], "supportbot": []}
    for _ in range(ROUNDS):   # alternating: the machine's noise falls on both alike
        for name, script, timing in (("django-helpdesk", "peer_helpdesk.sh", "/tmp/bench-peer/logs/time-v.txt"),
                                     ("supportbot", "bot_supportbot.sh", "/tmp/bench-bot/logs/time-v.txt")):
            rate, seconds = _run(script, env, Path(timing))
            rates[name].append(rate)
            cpu[name].append(seconds)
    peer, ours = (statistics.median(rates[name]) for name in ("django-helpdesk", "supportbot"))
    peer_cpu, our_cpu = (statistics.median(cpu[name]) for name in ("django-helpdesk", "supportbot"))
    print(f"\nsame {MESSAGES} mails, {ROUNDS} alternating rounds (medians): django-helpdesk {peer:.1f} msg/s "
          f"(its get_email pass alone), {peer_cpu:.1f}s CPU whole process; "
          f"supportbot {ours:.1f} msg/s (whole process, start-up included), {our_cpu:.1f}s CPU; "
          f"supportbot is {ours / peer:.1f}x faster and spends {peer_cpu / our_cpu:.1f}x less CPU")
