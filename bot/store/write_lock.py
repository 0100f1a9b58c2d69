"""SQLite's write lock taken up front: the stand-in for SELECT ... FOR UPDATE (imports nothing of the bot)."""
from __future__ import annotations

from sqlmodel import Session


def take_write_lock(session: Session) -> None:
    """Before reading rows this transaction will claim: SQLite has no SELECT ... FOR UPDATE.

    pysqlite opens a transaction only at the first write, so a read before it sees rows another
    process may claim meanwhile. BEGIN IMMEDIATE takes SQLite's write lock first (one writer at a
    time), which makes the read and the writes after it one step. A transaction that already wrote
    holds that lock. On PostgreSQL this does nothing: FOR UPDATE [SKIP LOCKED] does the job there."""
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
