"""`supportbot audit verify`: walk every chain of the audit trail and name the first row that breaks it."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from bot.store.audit_chain import row_hash

_ROWS = ("SELECT id, ticket_id, prev_hash, row_hash, at, actor, action, inbound_id, detail "
         "FROM auditevent ORDER BY id")


@dataclass(frozen=True)
class Break:
    """The first row (in id order) at which a chain does not hold."""

    row_id: int
    ticket_id: int | None
    reason: str

    def __str__(self) -> str:
        chain = f"ticket {self.ticket_id}" if self.ticket_id else "events of no ticket"
        return f"audit row {self.row_id} ({chain}): {self.reason}"


@dataclass
class Walk:
    rows: int = 0          # read (when broken: up to the end of the batch holding the break)
    chains: int = 0
    broken: Break | None = None


def verify(connection: Connection, batch: int = 20_000) -> Walk:
    """Check every row's own hash and its link to the row before it in its chain."""
    walk, heads = Walk(), {}
    raw = connection.connection   # the driver's own rows: SQLAlchemy's would double the time
    cursor = raw.cursor(name="audit_verify") if connection.dialect.name == "postgresql" else raw.cursor()
    cursor.execute(_ROWS)
    while rows := cursor.fetchmany(batch):
        for row_id, ticket_id, prev, stored, at, actor, action, inbound_id, detail in rows:
            key = ticket_id or 0
            expected_prev = heads.get(key, "")
            if prev != expected_prev:
                walk.broken = Break(row_id, ticket_id, _link_reason(expected_prev, prev))
                break
            if stored != row_hash(prev, at, actor, action, ticket_id, inbound_id, detail):
                walk.broken = Break(row_id, ticket_id, "its content does not match its hash (changed)")
                break
            heads[key] = stored
        walk.rows += len(rows)
        if walk.broken:
            break
    cursor.close()
    walk.chains = len(heads)
    return walk


def _link_reason(expected: str, found: str | None) -> str:
    if found is None:
        return "it has no hash (written without the chain)"
    if not expected:
        return "it links to a row that is not in its chain (a row before it was removed, or rows reordered)"
    return "it does not follow the row before it (a row between was removed, or rows reordered)"
