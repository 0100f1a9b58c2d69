"""Commands for account records and verification: `accounts import|list`, `verify TICKET`."""
from __future__ import annotations

import getpass
import sys
from pathlib import Path

import typer
from rich.console import Console

from bot.cli.tables import json_line

accounts_app = typer.Typer(help="Account records of the app (the embedded source).", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


def _sessions(ctx: typer.Context):
    from bot.store.db import open_database
    return open_database(ctx.obj.database.url)


@accounts_app.command("import")
def accounts_import(ctx: typer.Context, file: Path = typer.Argument(..., exists=True, dir_okay=False,
                    help="CSV (account_id,nickname,phone,email,wechat_bound,status) or JSON Lines")) -> None:
    """Load or update account records; each account_id replaces its earlier record."""
    from bot.store.accounts.embedded import AccountFileError, import_accounts, read_account_file
    from bot.store.db import transaction
    try:
        records = read_account_file(file, ctx.obj.accounts.default_region)
    except AccountFileError as exc:
        errors.print(f"[red]{exc}[/red]\nNothing was imported.")
        raise typer.Exit(1)
    with transaction(_sessions(ctx)) as session:
        count = import_accounts(session, records)
    console.print(f"imported {count} account(s)")


@accounts_app.command("list")
def accounts_list(ctx: typer.Context) -> None:
    """Print the embedded account records as JSON Lines (phone numbers masked)."""
    from sqlmodel import select
    from bot.store.accounts.phones import mask_phone
    from bot.store.models import AccountRecord
    with _sessions(ctx)() as session:
        for r in session.exec(select(AccountRecord).order_by(AccountRecord.account_id)):
            row = {"account_id": r.account_id, "nickname": r.nickname, "phone": mask_phone(r.phone) if r.phone else "",
                   "email": r.emails, "wechat_bound": r.wechat_bound, "status": r.status}
            sys.stdout.write(json_line(row) + "\n")


def verify(ctx: typer.Context,
           ticket: str = typer.Argument(..., help="Ticket reference, e.g. ESL-000123"),
           manual: bool = typer.Option(False, "--manual", help="Mark the requester verified by staff."),
           refuse: bool = typer.Option(False, "--refuse", help="Refuse: the requester could not be verified."),
           account: str = typer.Option("", "--account", help="With --manual: the account the staff member matched."),
           reason: str = typer.Option("", "--reason", help="Why (kept in the audit trail); required."),
           by: str = typer.Option("", "--by", help="Who decides (default: the login name)."),
           resend_code: bool = typer.Option(False, "--resend-code", help="Send a fresh code to the account.")) -> None:
    """Staff decisions on a requester's identity: verify, refuse, or send a fresh code."""
    from bot.service.app import build_app
    from bot.store.db import transaction
    from bot.tickets.opening import find_by_reference
    from bot.verify import challenges, flow
    if sum([manual, refuse, resend_code]) != 1:
        errors.print("choose exactly one of --manual, --refuse, --resend-code")
        raise typer.Exit(2)
    app = build_app(ctx.obj)
    actor = f"staff:{by or getpass.getuser()}"
    with transaction(app.sessions) as session:
        row = find_by_reference(session, ticket)
        if row is None:
            errors.print(f"no ticket {ticket}")
            raise typer.Exit(1)
        if account:
            if app.accounts(session).get(account) is None:
                errors.print(f"no account {account}")
                raise typer.Exit(1)
            row.account_id = account
        try:
            if resend_code:
                found = app.accounts(session).get(row.account_id) if row.account_id else None
                if found is None:
                    raise ValueError("the ticket has no matched account; use --manual --account ID first")
                challenges.issue_challenge(session, row, found, app.pipeline, actor=actor)
            else:
                flow.decide_manually(session, row, app.pipeline, actor=actor, reason=reason, refuse=refuse)
        except ValueError as exc:
            errors.print(str(exc))
            raise typer.Exit(2)
        state = row.verification
    console.print(f"{ticket.upper()}: {state}")


def register(app: typer.Typer) -> None:
    app.add_typer(accounts_app, name="accounts")
    app.command()(verify)
