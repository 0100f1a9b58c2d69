"""`supportbot quarantine list|release ID|dismiss ID --reason ...`: what the console's quarantine page does."""
from __future__ import annotations

import getpass
import sys

import typer
from rich.console import Console

from bot.cli.tables import json_line

quarantine_app = typer.Typer(help="Messages the bot could not handle, waiting for staff.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
BY = typer.Option("", "--by", help="Who acts (default: the login name).")


def _app(ctx: typer.Context):
    from bot.service.app import build_app   # the pipeline (spaCy) only for the commands that need it
    return build_app(ctx.obj)


def _sessions(ctx: typer.Context):
    from bot.store.db import open_database
    return open_database(ctx.obj.database.url)


@quarantine_app.command("list")
def quarantine_list(ctx: typer.Context) -> None:
    """The quarantined messages as JSON Lines, newest first: id, when, sender, subject, why, releasable."""
    from sqlalchemy import func
    from sqlmodel import select
    from bot.store.models import InboundMessage as M
    from bot.intake.release import release_refusal
    query = (select(M.id, M.received_at, M.sender, M.subject, M.quarantine_reason, M.folder, M.uid,
                    func.length(M.raw), M.purged_at).where(M.status == "quarantined").order_by(M.id.desc()))
    with _sessions(ctx)() as session:
        rows = session.exec(query).all()
    for id_, received_at, sender, subject, reason, folder, uid, size, purged_at in rows:
        refusal = release_refusal(purged=purged_at is not None, reason=reason, size=size,
                                  max_bytes=ctx.obj.imap.max_message_bytes)
        sys.stdout.write(json_line({
            "id": id_, "received_at": received_at.isoformat(), "sender": sender, "subject": subject,
            "reason": reason, "folder": folder, "uid": uid, "size": size, "releasable": refusal is None,
            "not_releasable_because": refusal}) + "\n")


@quarantine_app.command("release")
def quarantine_release(ctx: typer.Context, message_id: int = typer.Argument(..., help="The id `list` shows."),
                       by: str = BY) -> None:
    """Run a quarantined message through the bot again (e.g. once the cause is fixed)."""
    from bot.intake.release import ActionRefused, release
    try:
        result = release(_app(ctx).pipeline, message_id, actor=f"staff:{by or getpass.getuser()}")
    except ActionRefused as exc:
        errors.print(str(exc), highlight=False)
        raise typer.Exit(1) from None
    if result.outcome == "quarantined":
        errors.print(f"message {message_id} failed again and stays quarantined: {result.reason}", highlight=False,
                     markup=False)
        raise typer.Exit(1)
    ticket = f", ticket {result.ticket}" if result.ticket else ""
    console.print(f"message {message_id} released: {result.outcome}{ticket}", highlight=False)


@quarantine_app.command("dismiss")
def quarantine_dismiss(ctx: typer.Context, message_id: int = typer.Argument(..., help="The id `list` shows."),
                       reason: str = typer.Option(..., "--reason", help="Why, e.g. spam (kept in the audit trail)."),
                       by: str = BY) -> None:
    """Take a message out of the quarantine for good; its copy stays until the retention rule purges it."""
    from bot.clock import SystemClock
    from bot.store.db import transaction
    from bot.intake.release import ActionRefused, dismiss
    try:
        with transaction(_sessions(ctx)) as session:
            dismiss(session, message_id, reason=reason, actor=f"staff:{by or getpass.getuser()}",
                    now=SystemClock().now())
    except ActionRefused as exc:
        errors.print(str(exc), highlight=False)
        raise typer.Exit(1) from None
    console.print(f"message {message_id} dismissed", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(quarantine_app, name="quarantine")
