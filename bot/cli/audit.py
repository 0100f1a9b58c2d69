"""`supportbot audit verify`: check the audit trail's hash chains; non-zero exit names the first broken row."""
from __future__ import annotations

import time

import typer
from rich.console import Console

console = Console(highlight=False)
errors = Console(stderr=True, markup=False, highlight=False)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Walk every chain (one per ticket); exit 1 naming the first row that was changed, removed or moved."""
    from bot.store.audit_verify import verify as walk_chains
    from bot.store.db import open_database
    sessions = open_database(ctx.obj.database.url)
    start = time.perf_counter()
    with sessions() as session:
        walk = walk_chains(session.connection())
    if walk.broken:
        errors.print(f"audit trail broken: {walk.broken}")
        raise typer.Exit(1)
    console.print(f"audit trail intact: {walk.rows} rows in {walk.chains} chains "
                  f"({time.perf_counter() - start:.1f}s)")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
