"""`supportbot tickets evidence ESL-... --out FILE`: one request's evidence pack (a ZIP)."""
from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console

console = Console(highlight=False)
errors = Console(stderr=True, markup=False, highlight=False)


def evidence(ctx: typer.Context, reference: str = typer.Argument(..., help="e.g. ESL-000123"),
             out: Path = typer.Option(..., "--out", "-o", help="The ZIP file to write.")) -> None:
    """Write the request's evidence pack: summary (requester's language and English), mail as .eml, audit chain."""
    from bot.clock import SystemClock
    from bot.store.db import open_database
    from bot.tickets.evidence.pack import write_pack_file
    from bot.web.ticket_view import find_ticket
    sessions = open_database(ctx.obj.database.url)
    start = time.perf_counter()
    with sessions() as session:
        ticket = find_ticket(session, reference)
        if ticket is None:
            errors.print(f"no ticket {reference}")
            raise typer.Exit(1)
        facts = write_pack_file(session, ctx.obj, ticket, out, SystemClock().now())
    console.print(f"{out}: evidence pack of {ticket.reference}, {len(facts.audit)} audit rows, chain "
                  f"{'intact' if facts.chain_intact else f'BROKEN at row {facts.chain_break}'} "
                  f"({time.perf_counter() - start:.2f}s)")
    if not facts.chain_intact:
        raise typer.Exit(1)


def register(tickets: typer.Typer) -> None:
    tickets.command("evidence")(evidence)
