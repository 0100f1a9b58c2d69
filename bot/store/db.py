"""Database engine, sessions and schema creation; the audit trail is made append-only here."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel, create_engine

from bot.store import models  # noqa: F401  (registers the tables)
from bot.store.locks import schema_lock
from bot.store import sla_models  # noqa: F401  (the SLA tables)
from bot.store import console_models  # noqa: F401  (staff sessions, cookie key)
from bot.store import processor_models  # noqa: F401  (deletion notices' states)
from bot.store import console_models as web_models  # noqa: F401  (staff sessions, cookie key)

if TYPE_CHECKING:
    from alembic.config import Config

SessionFactory = Callable[[], Session]
BASELINE = "0001"  # the first migration: the schema before migrations existed


class AppendOnlyError(RuntimeError):
    """Something tried to change or remove an audit event."""


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    if cur.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
        cur.execute("PRAGMA journal_mode=WAL")  # readers (CLI, web) never block the bot
        # Safe here: a commit lost to power failure also loses the UID watermark, so the
        # message is fetched again (we read by UID, not by \Seen).
        cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


_SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS auditevent_no_update BEFORE UPDATE ON auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS auditevent_no_delete BEFORE DELETE ON auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END",
]
_POSTGRES_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION auditevent_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit trail is append-only'; END $$",
    "DROP TRIGGER IF EXISTS auditevent_append_only ON auditevent",
    "CREATE TRIGGER auditevent_append_only BEFORE UPDATE OR DELETE ON auditevent "
    "FOR EACH ROW EXECUTE FUNCTION auditevent_append_only()",
]


MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection) -> Config:
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def init_db(engine: Engine) -> None:
    """Create or upgrade the schema, then the append-only triggers; safe to run again.

    An empty database gets every table at once and is stamped with the newest revision;
    an existing one is brought up to date by the migrations in bot/migrations. Processes
    starting together take turns (bot/store/locks.py): the later ones find the schema made."""
    with schema_lock(engine), engine.begin() as conn:
        tables = set(inspect(conn).get_table_names())
        if "alembic_version" in tables and _revisions(conn) == [newest_revision()]:
            return   # up to date, as nearly always: alembic (a fifth of a second to import) is not needed
        from alembic import command
        config = alembic_config(conn)
        if "alembic_version" in tables:
            command.upgrade(config, "head")
        elif "ticket" in tables:
            # Made by create_all before migrations existed: its schema is the first revision's.
            command.stamp(config, BASELINE)
            command.upgrade(config, "head")
        else:
            SQLModel.metadata.create_all(conn)
            command.stamp(config, "head")
        for statement in {"sqlite": _SQLITE_TRIGGERS, "postgresql": _POSTGRES_TRIGGERS}.get(conn.dialect.name, []):
            conn.execute(text(statement))


def newest_revision() -> str:
    """The head migration, from the files' names (0001_..., 0002_...; tests hold alembic to the same)."""
    return max(path.name.partition("_")[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def _revisions(conn) -> list[str]:
    return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def open_database(url: str) -> SessionFactory:
    """Sessions on `url`, its schema created or upgraded first (what every CLI command needs)."""
    engine = make_engine(url)
    init_db(engine)
    return session_factory(engine)


def session_factory(engine: Engine) -> SessionFactory:
    def new_session() -> Session:
        return Session(engine, expire_on_commit=False)

    return new_session


@contextmanager
def transaction(sessions: SessionFactory, *, commit: bool = True) -> Iterator[Session]:
    """One unit of work: commit on success (roll back instead for a dry run), roll back on any error."""
    session = sessions()
    try:
        yield session
        session.commit() if commit else session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@event.listens_for(OrmSession, "before_flush")
def _refuse_audit_changes(session: OrmSession, _ctx, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, models.AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyError("audit events cannot be changed or deleted")
