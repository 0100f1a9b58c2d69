"""Migrations: applied one by one they give exactly the models' schema; init_db upgrades in place."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from bot.store.db import alembic_config, init_db, newest_revision


def _empty(engine) -> None:
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def test_migrations_alone_build_the_models_schema(engine):
    _empty(engine)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"the models changed without a migration in bot/store/migrations/versions: {diff}"


def test_init_db_upgrades_an_old_database_and_is_idempotent(engine):
    _empty(engine)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    init_db(engine)
    init_db(engine)
    with engine.connect() as conn:
        heads = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert set(inspect(conn).get_table_names()) >= set(SQLModel.metadata.tables)
    with engine.connect() as conn:
        assert heads == [ScriptDirectory.from_config(alembic_config(conn)).get_current_head()] == [newest_revision()]


def test_0005_marks_existing_mail_of_a_ticket_as_the_requesters_or_a_third_partys(engine):
    _empty(engine)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0004")
        conn.execute(text("INSERT INTO ticket (id, reference, subject, kind, labels, confidence, needs_triage, status,"
                          " requester, language, received_at, due_at, verification) VALUES (1, 'ESL-000001', '',"
                          " 'correction', 'correction', 1.0, false, 'open', 'a@example.org', 'en',"
                          " '2026-01-01 00:00:00', '2026-01-16 00:00:00', 'verified')"))
        for n, (sender, ticket) in enumerate([("a@example.org", 1), ("x@evil.test", 1), ("b@example.org", None)]):
            conn.execute(text("INSERT INTO inboundmessage (dedup_key, sender, subject, folder, uidvalidity, uid, raw,"
                              " received_at, ticket_id, opened_ticket, new_text, attachments, language, status,"
                              " flagged) VALUES (:k, :s, '', '', 0, :n, :raw, '2026-01-01 00:00:00', :t, false, '',"
                              " '[]', '', 'handled', false)"),
                         {"k": f"k{n}", "s": sender, "n": n, "raw": b"x", "t": ticket})
    init_db(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sender, party FROM inboundmessage ORDER BY uid")).all()
    assert [tuple(r) for r in rows] == [("a@example.org", "requester"), ("x@evil.test", "third-party"),
                                        ("b@example.org", "")]
