"""Migrations: applied one by one they give exactly the models' schema; init_db upgrades in place."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from bot.store.db import alembic_config, init_db


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
        assert heads == [ScriptDirectory.from_config(alembic_config(conn)).get_current_head()]
