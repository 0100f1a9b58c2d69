"""Benchmark: intake throughput (parse, classify, ticket, ack row) on a SQLite file; prints its figures."""
from __future__ import annotations

import resource
import time
from collections import Counter

from sqlalchemy import event

from bot.service.app import build_app
from bot.store import audit
from bot.config import Settings
from bot.intake import runner
from bot.intake.fetcher import drain_folder
from tests.bench.realistic_mail import realistic_request
from tests.support import mailgen
from tests.support.memory_mailbox import MemoryMailbox


def test_intake_throughput_sqlite(tmp_path, monkeypatch):
    n = 2000
    # Loop protection's hourly limits would withhold most acknowledgements of a burst this size.
    settings = Settings(database={"url": f"sqlite:///{tmp_path / 'bench.db'}"},
                        loops={"per_address_per_hour": 1000, "global_per_hour": 10_000_000})
    app = build_app(settings)
    box = MemoryMailbox()
    for i in range(n):
        box.add(mailgen.request(i) if i % 2 else realistic_request(i))
    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1

    event.listen(app.engine, "before_cursor_execute", count)
    chain = {"seconds": 0.0, "rows": 0}   # what hash-chaining the audit rows costs (bot/store/audit_chain.py)

    def timed_link(session, rows) -> None:
        began = time.perf_counter()
        link(session, rows)
        chain["seconds"] += time.perf_counter() - began
        chain["rows"] += len(rows)

    link = audit.link
    monkeypatch.setattr(audit, "link", timed_link)
    stage_cpu = Counter()
    monkeypatch.setattr(runner, "STAGES", tuple(_timed(stage, stage_cpu) for stage in runner.STAGES))
    start, cpu = time.perf_counter(), time.process_time()
    report = drain_folder(box, app.pipeline, folder="INBOX", batch_size=50)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nintake (no IMAP/SMTP), SQLite file: {n} messages in {elapsed:.2f}s = "
          f"{n / elapsed:.0f} msg/s; CPU {1000 * cpu / n:.1f} ms a message; "
          f"{statements / n:.1f} SQL statements a message; peak RSS {peak_mb:.0f} MB")
    print(f"audit chain: {chain['rows']} audit rows, {1000 * chain['seconds'] / chain['rows']:.3f} ms a row "
          f"to chain ({100 * chain['seconds'] / elapsed:.1f}% of the run)")
    print(_split(stage_cpu, cpu, n))
    assert report.outcomes["new-ticket"] == n
    assert chain["seconds"] / chain["rows"] <= 0.0001   # the target: <= 0.1 ms an audit row


def _timed(stage, cpu: Counter):
    """The stage, its CPU time added up by name (thread time: a few microseconds a call to measure)."""
    def timed(ctx, session, deps):
        began = time.thread_time()
        try:
            return stage(ctx, session, deps)
        finally:
            cpu[stage.__name__] += time.thread_time() - began
    return timed


def _split(stage_cpu: Counter, total: float, n: int) -> str:
    rest = total - sum(stage_cpu.values())
    parts = [*stage_cpu.most_common(), ("fetch, parsing the batch, savepoints, commits, watermark", rest)]
    return "CPU a message by stage: " + ", ".join(f"{name} {1000 * s / n:.2f} ms" for name, s in parts)
