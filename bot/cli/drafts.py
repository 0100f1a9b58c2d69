"""`supportbot drafts list|show|approve|reject`: the staff decisions, from a terminal."""
from __future__ import annotations

import getpass
import sys
from pathlib import Path

import typer
from rich.console import Console

from bot.cli.tables import harmless, json_line, printable

drafts_app = typer.Typer(help="Drafted replies waiting for staff approval.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


def _app(ctx: typer.Context):
    from bot.service.app import build_app
    return build_app(ctx.obj)


@drafts_app.command("list")
def drafts_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
                status: str = typer.Option("pending", help="pending, approved, rejected, superseded or all")) -> None:
    """Drafts, most urgent ticket first."""
    from bot.tickets.views import draft_rows
    app = _app(ctx)
    with app.sessions() as session:
        rows = draft_rows(session, app.settings, app.clock.now(), None if status == "all" else status)
    if as_json:
        for row in rows:
            sys.stdout.write(json_line(row) + "\n")
        return
    from rich.table import Table
    table = Table(title=f"Drafts ({len(rows)} {status})", title_justify="left")
    for column in ("ID", "Ticket", "Kind", "Lang", "To", "Days left", "Subject"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(str(r["id"]), r["ticket"], r["kind"], r["language"], printable(r["to"]), str(r["days_left"]),
                      printable(r["subject"]))
    console.print(table)


@drafts_app.command("show")
def drafts_show(ctx: typer.Context, draft_id: int) -> None:
    """The draft's text, recipient and attachments."""
    from bot.tickets.views import draft_detail
    app = _app(ctx)
    with app.sessions() as session:
        detail = draft_detail(session, app.settings, app.clock.now(), draft_id)
    if detail is None:
        errors.print(f"no draft {draft_id}")
        raise typer.Exit(1)
    console.print(f"Draft {detail['id']} for {detail['ticket']} ({detail['kind']}, {detail['status']})\n"
                  f"To: {harmless(detail['to'])}\nSubject: {harmless(detail['subject'])}\n"
                  f"Attachments: {', '.join(a['filename'] for a in detail['attachments']) or '-'}\n",
                  highlight=False, markup=False)
    sys.stdout.write(harmless(detail["text"], keep="\n\t"))


def _decide(ctx: typer.Context, action, draft_id: int, **kwargs) -> None:
    from bot.store.db import transaction
    from bot.drafts.actions import run_pending_actions
    from bot.drafts.approve import DraftError
    from bot.drafts.guard import NotVerified
    app = _app(ctx)
    try:
        with transaction(app.sessions) as session:
            draft = action(session, draft_id, app.pipeline, **kwargs)
            status = draft.status
    except (DraftError, NotVerified) as exc:
        errors.print(str(exc))
        raise typer.Exit(1)
    run_pending_actions(app.sessions, app.settings, app.clock)
    console.print(f"draft {draft_id}: {status}" + ("; the reply is queued in the outbox" if status == "approved" else ""))


@drafts_app.command("approve")
def drafts_approve(ctx: typer.Context, draft_id: int,
                   edit: Path = typer.Option(None, "--edit", exists=True, dir_okay=False,
                                             help="Send this file's text instead of the draft's."),
                   by: str = typer.Option("", "--by", help="Who approves (default: the login name)."),
                   other_language: bool = typer.Option(False, "--other-language",
                                                       help="Send edits not in the requester's language (Chinese) as typed.")
                   ) -> None:
    """Approve a draft (optionally with edited text); exactly that text is sent, once."""
    from bot.drafts.approve import approve
    text = edit.read_text(encoding="utf-8") if edit else None
    _decide(ctx, approve, draft_id, actor=f"staff:{by or getpass.getuser()}", text=text, other_language=other_language)


@drafts_app.command("reject")
def drafts_reject(ctx: typer.Context, draft_id: int, reason: str = typer.Option(..., "--reason"),
                  by: str = typer.Option("", "--by", help="Who rejects (default: the login name).")) -> None:
    """Reject a draft with a reason; nothing is sent."""
    from bot.drafts.approve import reject
    _decide(ctx, reject, draft_id, actor=f"staff:{by or getpass.getuser()}", reason=reason)


def register(app: typer.Typer) -> None:
    app.add_typer(drafts_app, name="drafts")
