"""`supportbot tickets list|show` and `messages list`: what the bot holds, as tables or JSON."""
from __future__ import annotations

import sys

import typer
from rich.console import Console

from bot.cli.tables import json_line

tickets_app = typer.Typer(help="Tickets (one per request).", no_args_is_help=True)
messages_app = typer.Typer(help="Stored inbound messages.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


@tickets_app.command("list")
def tickets_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="One JSON object per line.")) -> None:
    """List tickets, most urgent first."""
    from bot.clock import SystemClock
    from bot.tickets.views import ticket_rows
    with _session(ctx) as session:
        rows = ticket_rows(session, ctx.obj, SystemClock().now())
    if as_json:
        _print_json_lines(rows)
    else:
        from bot.cli.tables import tickets_table
        console.print(tickets_table(rows))


@tickets_app.command("show")
def tickets_show(ctx: typer.Context, reference: str = typer.Argument(..., help="e.g. ESL-000123")) -> None:
    """One ticket as JSON: its messages, the mail sent, and the audit trail."""
    from bot.clock import SystemClock
    from bot.tickets.views import ticket_detail
    with _session(ctx) as session:
        detail = ticket_detail(session, ctx.obj, SystemClock().now(), reference)
    if detail is None:
        errors.print(f"no ticket {reference}")
        raise typer.Exit(1)
    sys.stdout.write(json_line(detail, indent=2) + "\n")


@messages_app.command("list")
def messages_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="One JSON object per line.")) -> None:
    """List stored inbound messages with their ticket and how they were handled."""
    from bot.tickets.views import message_rows
    with _session(ctx) as session:
        rows = message_rows(session)
    if as_json:
        _print_json_lines(rows)
    else:
        from bot.cli.tables import messages_table
        console.print(messages_table(rows))


def _session(ctx: typer.Context):
    from bot.store.db import open_database
    return open_database(ctx.obj.database.url)()


def _print_json_lines(rows: list[dict]) -> None:
    for row in rows:
        sys.stdout.write(json_line(row) + "\n")


def register(app: typer.Typer) -> typer.Typer:
    """Adds both groups; returns the tickets group, which other areas extend (`tickets evidence`)."""
    app.add_typer(tickets_app, name="tickets")
    app.add_typer(messages_app, name="messages")
    return tickets_app
