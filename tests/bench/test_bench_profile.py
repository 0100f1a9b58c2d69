"""Benchmark: where `supportbot run --once` spends its CPU, by stage, sampled by py-spy in a separate run."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.bench.realistic_mail import realistic_request
from tests.bench.test_bench_e2e import NO_LOOP_LIMITS, _append_all
from tests.integration.conftest import of_kind, write_config
from tests.support.bot_process import CLI, IMAP_PASSWORD

MESSAGES = int(os.environ.get("SUPPORTBOT_BENCH_PROFILE_MESSAGES", "1000"))
RATE = 250   # samples a second: enough for a split, cheap enough not to reshape it
# What each line of the split adds up: the functions whose stacks count towards it (first match wins).
PARTS = {
    # One-time costs first: imports anywhere, and the classifier built at the first classification.
    "start-up (imports, model, schema)": ("build_app", "_find_and_load", "LazyClassifier.built"),
    "fetch from IMAP": ("ImapMailbox.fetch", "ImapMailbox.uids_after", "mark_handled"),
    "parse": ("parse (bot/intake/stages.py)", "IntakeBatch.expect"),   # the batch is parsed before its stages
    "store": ("store (bot/intake/stages.py)",),
    "thread": ("thread (bot/intake/stages.py)",),
    "classify": ("classify (bot/intake/stages.py)",),
    "link duplicate": ("link_duplicate",),
    "open ticket": ("open_new_ticket",),
    "verify": ("verify_requester",),
    "acknowledge (render, compose, queue)": ("acknowledge (bot/intake/stages.py)",),
    "other stages": ("Pipeline.run_stages",),
    "commit, watermark": ("IntakeBatch",),
    "send (outbox, SMTP)": ("drain_outbox", "bot/outbox/", "asyncio/", "concurrent/futures/"),
}


def _split(raw: Path) -> tuple[int, Counter]:
    """Samples by part: each stack goes to the first part one of its frames names."""
    total, parts = 0, Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        frames = re.sub(r":\d+\)", ")", stack)
        if not frames.strip():
            parts["no Python frame (native code: SQLite, sockets)"] += int(count)
            continue
        part = next((name for name, marks in PARTS.items() if any(mark in frames for mark in marks)),
                    "the rest (run loop, logging, interpreter)")
        parts[part] += int(count)
    return total, parts


@pytest.mark.skipif(shutil.which("py-spy", path=os.path.dirname(sys.executable)) is None
                    and shutil.which("py-spy") is None, reason="py-spy is not installed")
def test_cpu_split_by_stage(tmp_path, dovecot, smtp):
    config = tmp_path / "bot.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.db'}",
                 sections=NO_LOOP_LIMITS)
    _append_all(dovecot, [realistic_request(n) for n in range(MESSAGES)])
    env = dict(os.environ, SUPPORTBOT_IMAP__PASSWORD=IMAP_PASSWORD)
    subprocess.run([*CLI, "--config", str(config), "init"], check=True, capture_output=True, env=env, timeout=120)
    spy = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or shutil.which("py-spy")
    out = tmp_path / "profile.txt"
    subprocess.run([spy, "record", "-r", str(RATE), "-f", "raw", "-o", str(out), "--",
                    *CLI, "--config", str(config), "run", "--once"],
                   check=True, capture_output=True, env=env, timeout=1800)
    assert len(of_kind(smtp.received)) == MESSAGES   # the whole run was profiled, acknowledgements too
    total, parts = _split(out)
    seconds = total / RATE   # sampled time: CPU, give or take what the sampler itself slows
    print(f"\nCPU split by stage, `run --once` over {MESSAGES} realistic requests (SQLite, py-spy at "
          f"{RATE} Hz; {seconds:.1f}s sampled, the sampler slows the process, so shares, not times, count):")
    for name, count in sorted(parts.items(), key=lambda item: -item[1]):
        per_message = "" if name.startswith("start-up") else f"  {1000 * count / RATE / MESSAGES:.2f} ms a message"
        print(f"  {name:<40} {100 * count / total:5.1f}%{per_message}")
