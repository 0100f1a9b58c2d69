"""Storage: the database engine and sessions, every table, the locks between processes, the
append-only audit trail and its hash chain, the retention purge, the schema migrations, and the account records of
the app (embedded table or the app's own database). It imports only the shared edges (config,
clock, logs); every other package may import it."""
