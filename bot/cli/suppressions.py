"""Commands for the suppression list: `suppressions list`, `suppressions add|remove ADDRESS`."""
from __future__ import annotations

import getpass
import sys

import typer
from rich.console import Console

from bot.cli.tables import json_line

suppressions_app = typer.Typer(help="Addresses that get no automatic mail (e.g. after a bounce).",
                               no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


def _sessions(ctx: typer.Context):
    from bot.store.db import open_database
    return open_database(ctx.obj.database.url)


def _now():
    from bot.clock import SystemClock
    return SystemClock().now()


@suppressions_app.command("list")
def suppressions_list(ctx: typer.Context) -> None:
    """Print the suppressed addresses as JSON Lines: address, reason, since, the bounce's message id."""
    from bot.store.models import InboundMessage
    from bot.outbox.suppressions import listing
    with _sessions(ctx)() as session:
        for row in listing(session):
            bounce = session.get(InboundMessage, row.inbound_id) if row.inbound_id else None
            sys.stdout.write(json_line({"address": row.address, "reason": row.reason,
                                         "since": row.created_at.isoformat(), "inbound_id": row.inbound_id,
                                         "bounce_message_id": bounce.message_id if bounce else None}) + "\n")


@suppressions_app.command("remove")
def suppressions_remove(ctx: typer.Context, address: str = typer.Argument(..., help="The address to lift"),
                        by: str = typer.Option("", "--by", help="Who lifts it (default: the login name).")) -> None:
    """Lift a suppression: automatic mail (acknowledgements, codes) may go to the address again."""
    from bot.store.db import transaction
    from bot.outbox.suppressions import lift
    with transaction(_sessions(ctx)) as session:
        row = lift(session, address, actor=f"staff:{by or getpass.getuser()}", now=_now())
    if row is None:
        errors.print(f"{address} is not suppressed")
        raise typer.Exit(1)
    console.print(f"{row.address}: suppression ({row.reason}) lifted", highlight=False)


@suppressions_app.command("add")
def suppressions_add(ctx: typer.Context, address: str = typer.Argument(..., help="The address to suppress"),
                     reason: str = typer.Option(..., "--reason", help="Why (kept on the list and in the audit trail)."),
                     by: str = typer.Option("", "--by", help="Who adds it (default: the login name).")) -> None:
    """Stop automatic mail to an address by hand (e.g. a known auto-responder)."""
    from bot.store.db import transaction
    from bot.outbox.suppressions import suppress
    if "@" not in address or not reason.strip():
        errors.print("give an email address and a --reason")
        raise typer.Exit(2)
    with transaction(_sessions(ctx)) as session:
        added = suppress(session, address, reason=reason.strip(), now=_now(),
                         actor=f"staff:{by or getpass.getuser()}")
    console.print(f"{address.strip().lower()}: {'suppressed' if added else 'already suppressed'}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(suppressions_app, name="suppressions")
