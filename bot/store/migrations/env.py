"""Alembic environment: runs on the connection bot.store.db hands over (no URL of its own)."""
from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import bot.store.db  # noqa: F401  (imports every table module)

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")  # SQLite alters by copying tables
with context.begin_transaction():
    context.run_migrations()
