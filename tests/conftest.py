"""Shared fixtures: settings, a fresh database (SQLite, and PostgreSQL where reachable), clock, servers."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.pool import StaticPool

from bot.clock import FixedClock
from bot.config import Settings
from bot.store.db import init_db, make_engine
from bot.cli.demo.smtp_recorder import RecordingSmtpServer

REPO = Path(__file__).resolve().parents[1]
# Third-party mail corpora (see README, Tests): next to the checkout, or where this variable says.
CORPORA = Path(os.environ.get("SUPPORTBOT_TEST_CORPORA") or REPO.parent / "shared" / "corpora")


def pytest_collection_modifyitems(config, items) -> None:
    """Without the corpora, the tests that read them are one skip that says so, not one each."""
    if CORPORA.is_dir():
        return
    needing = [item for item in items
               if item.get_closest_marker("corpora") or "corpora" in getattr(item, "fixturenames", ())]
    if not needing:
        return
    first, rest = needing[0], {id(item) for item in needing[1:]}
    first.add_marker(pytest.mark.skip(reason=f"{len(needing)} tests read the mail corpora, absent here: {CORPORA} "
                                             "(see README, Tests)"))
    config.hook.pytest_deselected(items=needing[1:])
    items[:] = [item for item in items if id(item) not in rest]
POSTGRES_URL = os.environ.get("SUPPORTBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> bool:
    try:
        engine = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False


@pytest.fixture(scope="session")
def postgres_schema_url():
    """A private schema in the `test` database for this test session, dropped afterwards."""
    if not _postgres_reachable():
        pytest.skip("PostgreSQL not reachable at " + POSTGRES_URL)
    schema = f"sb_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield schema
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def postgres_database():
    """A private PostgreSQL database (name) for tests that run `supportbot` processes; dropped after."""
    if not _postgres_reachable():
        pytest.skip("PostgreSQL not reachable at " + POSTGRES_URL)
    name = f"sb_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def postgres_database_url(postgres_database):
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database for `supportbot` commands to create: a SQLite file or a private PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.store.db'}"
    return request.getfixturevalue("postgres_database_url")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request):
    """A fresh, empty database with the schema; every DB test runs on both back ends."""
    if request.param == "sqlite":
        eng = make_engine("sqlite://", poolclass=StaticPool)
        init_db(eng)
        yield eng
        eng.dispose()
        return
    schema = request.getfixturevalue("postgres_schema_url")
    eng = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    with eng.begin() as conn:  # every test starts from an empty schema, whatever the last one left
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    init_db(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def smtp():
    """The recording SMTP server (aiosmtpd) on a free loopback port."""
    with RecordingSmtpServer() as server:
        yield server


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc))


@pytest.fixture
def settings():
    return Settings(smtp={"from_address": "support@esl.example", "host": "127.0.0.1", "security": "none"})


@pytest.fixture
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip("../shared/corpora not present")
    return CORPORA
