"""Schema migrations (alembic); `supportbot init` and start-up apply them."""
