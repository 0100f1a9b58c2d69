"""Hash chains over the audit trail: one chain per ticket (and one for events of no ticket).

Each row carries `prev_hash`, the `row_hash` of the row before it in its chain ("" for the
first), and `row_hash` = sha256 over prev_hash and the row's content. A changed row no longer
matches its own hash; a removed or moved row breaks the link of the row after it. Per ticket,
not one chain for the database: writers to different tickets never wait for each other, and a
ticket's rows alone (e.g. in its evidence pack) can be checked without anybody else's.
"""
from __future__ import annotations

from datetime import datetime, timezone
from hashlib import sha256 as _sha256

from sqlalchemy.orm import Session

from bot.store.write_lock import take_write_lock

_LOCK_SPACE = 0x5AD17   # first key of PostgreSQL's two-key advisory locks: "audit chain"


def canonical_at(at: datetime | str) -> str:
    """The time as hashed: UTC, microseconds always (SQLite stores exactly this text)."""
    if isinstance(at, str):
        return at
    if at.tzinfo is not timezone.utc:
        at = at.astimezone(timezone.utc)
    return at.isoformat(sep=" ", timespec="microseconds")[:26]


def row_hash(prev: str, at, actor: str, action: str, ticket_id, inbound_id, detail: str) -> str:
    """sha256 over the previous hash and the row's fields, one a line: actor and action carry their
    length (no text can pass for another field); the detail enters as its own sha256, so that a copy
    may withhold a detail (another person's data) and still be checked."""
    at = at if at.__class__ is str else canonical_at(at)
    return chain_hash(prev, at, actor, action, ticket_id, inbound_id, detail_hash(detail))


def detail_hash(detail: str) -> str:
    return _sha256(detail.encode()).hexdigest()


def chain_hash(prev: str, at: str, actor: str, action: str, ticket_id, inbound_id, detail_sha256: str) -> str:
    return _sha256(f"{prev}\n{at}\n{ticket_id}\n{inbound_id}\n{len(actor)}:{actor}\n"
                   f"{len(action)}:{action}\n{detail_sha256}".encode()).hexdigest()


def link(session: Session, rows: list[dict]) -> None:
    """Give `rows` (about to be inserted, in this order) their prev_hash and row_hash.

    The chains' heads are read under a lock held to the end of the transaction, so two writers
    never append to one chain from the same head: SQLite's write lock, or on PostgreSQL an
    advisory lock per chain taken in ticket order."""
    chains = sorted({row["ticket_id"] or 0 for row in rows})
    heads = lock_and_read_heads(session, chains)
    for row in rows:
        key = row["ticket_id"] or 0
        row["prev_hash"] = prev = heads.get(key, "")
        row["row_hash"] = heads[key] = row_hash(prev, row["at"], row["actor"], row["action"],
                                                row["ticket_id"], row["inbound_id"], row["detail"])


def lock_and_read_heads(session: Session, chains: list[int]) -> dict[int, str]:
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    if not postgres:
        take_write_lock(session)
    # The driver's cursor on the session's own connection (and transaction): through SQLAlchemy
    # these few small statements cost more than the rows they chain.
    cursor = connection.connection.dbapi_connection.cursor()
    mark = "%s" if postgres else "?"
    try:
        heads: dict[int, str] = {}
        for key in chains:
            if postgres:
                cursor.execute(f"SELECT pg_advisory_xact_lock({mark}, {mark})", (_LOCK_SPACE, key))
            where = f"ticket_id = {mark}" if key else "ticket_id IS NULL"
            cursor.execute(f"SELECT row_hash FROM auditevent WHERE {where} ORDER BY id DESC LIMIT 1",
                           (key,) if key else ())
            head = cursor.fetchone()
            if head is not None:
                heads[key] = head[0]
        return heads
    finally:
        cursor.close()
