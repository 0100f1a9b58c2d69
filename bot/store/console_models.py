"""The console's own tables: staff sessions (server side, revocable) and the generated cookie key.

Created by bot.store.db.init_db like every table (a migration adds them to existing databases)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from bot.store.models import UTCDateTime


def _utc():
    return Field(sa_column=Column(UTCDateTime(), nullable=False))


class StaffSession(SQLModel, table=True):
    """One login. The cookie carries a random token; only its SHA-256 is stored here."""

    token_hash: str = Field(primary_key=True)
    user_id: int = Field(foreign_key="staffuser.id", index=True)
    created_at: datetime = _utc()
    expires_at: datetime = _utc()


class WebSecret(SQLModel, table=True):
    """The generated cookie-signing key, when [web] secret_key is not set."""

    name: str = Field(primary_key=True)
    value: str
    created_at: datetime = _utc()
