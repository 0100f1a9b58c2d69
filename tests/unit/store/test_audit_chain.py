"""The audit trail's hash chains: written with every event, checked by `audit verify`, tampering found."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner

from bot.store import audit
from bot.store.audit_verify import verify
from bot.cli.audit import register
from bot.config import Settings
from bot.store.db import alembic_config, init_db, make_engine
from bot.store.models import Ticket
from tests.support.cli_app import cli_with


def _trail(engine, clock) -> None:
    """Two tickets' events interleaved, and events of no ticket, over three transactions."""
    with Session(engine) as s:
        for n in (1, 2):
            s.add(Ticket(reference=f"ESL-00000{n}", requester=f"r{n}@example.org",
                         received_at=clock.now(), due_at=clock.now() + timedelta(days=30)))
        s.flush()
        for step in range(3):
            audit.record(s, clock.now(), "step", ticket_id=1, n=step)
            audit.record(s, clock.now(), "step", ticket_id=2, n=step, note="生日")
            audit.record(s, clock.now(), "login.failed")
        s.commit()
    for step in (3, 4):
        with Session(engine) as s:
            audit.record(s, clock.now() + timedelta(seconds=step), "step", ticket_id=1, n=step)
            s.commit()


def _drop_triggers(engine) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER auditevent_append_only ON auditevent"))
        else:
            conn.execute(text("DROP TRIGGER auditevent_no_update"))
            conn.execute(text("DROP TRIGGER auditevent_no_delete"))


def _walk(engine):
    with engine.connect() as conn:
        return verify(conn, batch=4)


def _ticket_rows(engine, ticket_id: int) -> list[int]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM auditevent WHERE ticket_id = :t ORDER BY id"),
                            {"t": ticket_id}).scalars().all()


def test_an_untouched_trail_verifies_and_chains_per_ticket(engine, clock):
    _trail(engine, clock)
    walk = _walk(engine)
    assert walk.broken is None and walk.rows == 11 and walk.chains == 3
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT prev_hash, row_hash FROM auditevent WHERE ticket_id = 1 ORDER BY id")).all()
    assert rows[0][0] == "" and all(rows[i][0] == rows[i - 1][1] for i in range(1, len(rows)))
    assert len({h for _, h in rows}) == len(rows)


def test_a_changed_detail_is_found(engine, clock):
    _trail(engine, clock)
    _drop_triggers(engine)
    target = _ticket_rows(engine, 2)[1]
    with engine.begin() as conn:
        conn.execute(text("UPDATE auditevent SET detail = :d WHERE id = :id"),
                     {"d": json.dumps({"n": 9}), "id": target})
    broken = _walk(engine).broken
    assert broken.row_id == target and broken.ticket_id == 2 and "changed" in broken.reason


def test_a_deleted_row_is_found(engine, clock):
    _trail(engine, clock)
    _drop_triggers(engine)
    ids = _ticket_rows(engine, 1)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM auditevent WHERE id = :id"), {"id": ids[2]})
    broken = _walk(engine).broken
    assert broken.row_id == ids[3] and broken.ticket_id == 1 and "removed" in broken.reason


def test_a_deleted_first_row_is_found(engine, clock):
    _trail(engine, clock)
    _drop_triggers(engine)
    ids = _ticket_rows(engine, 2)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM auditevent WHERE id = :id"), {"id": ids[0]})
    assert _walk(engine).broken.row_id == ids[1]


def test_reordered_rows_are_found(engine, clock):
    _trail(engine, clock)
    _drop_triggers(engine)
    a, b = _ticket_rows(engine, 1)[1:3]
    with engine.begin() as conn:   # the two rows swap places, each keeping its own (valid) hashes
        conn.execute(text("UPDATE auditevent SET id = -1 WHERE id = :a"), {"a": a})
        conn.execute(text("UPDATE auditevent SET id = :a WHERE id = :b"), {"a": a, "b": b})
        conn.execute(text("UPDATE auditevent SET id = :b WHERE id = -1"), {"b": b})
    broken = _walk(engine).broken
    assert broken.row_id == a and "reordered" in broken.reason


def test_a_row_moved_to_another_ticket_is_found(engine, clock):
    _trail(engine, clock)
    _drop_triggers(engine)
    last = _ticket_rows(engine, 1)[-1]
    with engine.begin() as conn:
        conn.execute(text("UPDATE auditevent SET ticket_id = 2 WHERE id = :id"), {"id": last})
    assert _walk(engine).broken.row_id == last


def test_savepoint_rollback_keeps_the_chain_whole(engine, clock):
    with Session(engine) as s:
        audit.record(s, clock.now(), "kept")
        audit.write_pending(s)   # as the intake batch does before each message's savepoint
        with pytest.raises(RuntimeError):
            with s.begin_nested():
                audit.record(s, clock.now(), "lost")
                audit.write_pending(s)
                raise RuntimeError
        audit.record(s, clock.now(), "kept too")
        s.commit()
    assert _walk(engine).broken is None and _walk(engine).rows == 2


def test_migration_hashes_existing_rows_in_order(database_url, clock):
    engine = make_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0004")
        conn.execute(text("INSERT INTO ticket (reference, subject, kind, labels, confidence, needs_triage, status, "
                          "requester, language, received_at, due_at, verification) VALUES ('ESL-000001', '', "
                          "'access', 'access', 1, false, 'open', 'a@example.org', 'en', '2026-01-01 00:00:00.000000', "
                          "'2026-02-01 00:00:00.000000', 'pending')"))
        for n in range(3):
            conn.execute(text("INSERT INTO auditevent (at, actor, action, ticket_id, detail) VALUES "
                              "('2026-01-01 00:00:00.000000', 'bot', 'old', :t, '{}')"), {"t": 1 if n else None})
    init_db(engine)   # upgrades, then puts the append-only triggers back
    assert _walk(engine).broken is None and _walk(engine).chains == 2
    with Session(engine) as s:
        audit.record(s, clock.now(), "new", ticket_id=1)
        s.commit()
    assert _walk(engine).broken is None and _walk(engine).rows == 4
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE auditevent SET action = 'x'"))
    engine.dispose()


def test_verify_command_exits_non_zero_naming_the_row(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    init_db(engine)
    _trail(engine, clock)
    cli = cli_with(Settings(database={"url": url}), register)
    ok = CliRunner().invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact: 11 rows in 3 chains" in ok.output
    _drop_triggers(engine)
    target = _ticket_rows(engine, 1)[0]
    with engine.begin() as conn:
        conn.execute(text("UPDATE auditevent SET actor = 'staff:someone' WHERE id = :id"), {"id": target})
    bad = CliRunner().invoke(cli, ["audit", "verify"])
    assert bad.exit_code == 1 and f"audit row {target} (ticket 1)" in bad.output
    engine.dispose()


def test_concurrent_writers_keep_every_chain_whole(database_url, clock):
    """Four threads append to the same two tickets' chains (and the ticketless one) at once."""
    from concurrent.futures import ThreadPoolExecutor
    engine = make_engine(database_url)
    init_db(engine)
    with Session(engine) as s:
        for n in (1, 2):
            s.add(Ticket(reference=f"ESL-00000{n}", requester=f"r{n}@example.org",
                         received_at=clock.now(), due_at=clock.now() + timedelta(days=30)))
        s.commit()

    def writer(worker: int) -> None:
        for step in range(15):
            with Session(engine) as s:
                for ticket_id in ((1, 2) if worker % 2 else (2, 1)):
                    audit.record(s, clock.now(), "step", ticket_id=ticket_id, worker=worker, n=step)
                audit.record(s, clock.now(), "loose", worker=worker)
                s.commit()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(writer, range(4)))
    walk = _walk(engine)
    assert walk.broken is None and walk.rows == 4 * 15 * 3 and walk.chains == 3
    engine.dispose()
