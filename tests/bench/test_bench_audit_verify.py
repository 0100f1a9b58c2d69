"""Benchmark: `audit verify` over 1,000,000 audit rows on a SQLite file (target <= 10 s); prints its figure."""
from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime, timedelta, timezone

from bot.store.audit_chain import canonical_at, row_hash
from bot.store.audit_verify import verify
from bot.store.db import init_db, make_engine

ROWS = 1_000_000
TICKETS = 100_000


def _fill(path) -> None:
    """Rows as the bot writes them: ten events a ticket, interleaved, every tenth of no ticket."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys=OFF")   # the ticket rows are not needed to check chains
    start, heads, batch = datetime(2026, 1, 1, tzinfo=timezone.utc), {}, []
    for n in range(ROWS):
        ticket = None if n % 10 == 9 else n % TICKETS + 1
        at = canonical_at(start + timedelta(milliseconds=n))
        detail = json.dumps({"reference": f"ESL-{ticket or 0:06d}", "n": n}, sort_keys=True)
        prev = heads.get(ticket or 0, "")
        heads[ticket or 0] = digest = row_hash(prev, at, "bot", "step", ticket, None, detail)
        batch.append((at, "bot", "step", ticket, None, detail, prev, digest))
        if len(batch) == 50_000:
            conn.executemany("INSERT INTO auditevent (at, actor, action, ticket_id, inbound_id, detail, "
                             "prev_hash, row_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch)
            batch = []
    conn.commit()
    conn.close()


def test_verify_a_million_rows(tmp_path):
    path = tmp_path / "audit.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    _fill(str(path))
    start, cpu = time.perf_counter(), time.process_time()
    with engine.connect() as conn:
        walk = verify(conn)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"\naudit verify, SQLite file: {walk.rows} rows in {walk.chains} chains in {elapsed:.2f}s "
          f"(CPU {cpu:.2f}s; {1e6 * elapsed / walk.rows:.1f} us a row)")
    assert walk.broken is None and walk.rows == ROWS
    assert cpu <= 10   # CPU, not wall time: ~8 agents share the 2 cores, and the wall clock shows their load
    engine.dispose()
