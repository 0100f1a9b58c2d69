"""The `supportbot` command line (Typer): init, run, demo, tickets, messages."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from bot.cli.classify import register as register_classify
from bot.cli.drafts import register as register_drafts
from bot.cli.quarantine import register as register_quarantine
from bot.cli.sla import register as register_sla
from bot.cli.suppressions import register as register_suppressions
from bot.cli.web import register as register_web
from bot.cli.retention import register as register_retention
from bot.cli.verify import register as register_verify
from bot.cli.mail import register as register_mail
from bot.cli.faults import OneLineFaults
from bot.cli.audit import register as register_audit
from bot.cli.evidence import register as register_evidence
from bot.cli.help import hide_flag_types
from bot.cli.tables import json_line

if TYPE_CHECKING:
    from bot.config import Settings

hide_flag_types()
app = OneLineFaults(help="supportbot: runs the privacy-rights mailbox.", no_args_is_help=True,
                    pretty_exceptions_enable=False)
tickets_app = typer.Typer(help="Tickets (one per request).", no_args_is_help=True)
messages_app = typer.Typer(help="Stored inbound messages.", no_args_is_help=True)
app.add_typer(tickets_app, name="tickets")
app.add_typer(messages_app, name="messages")

console = Console()
errors = Console(stderr=True)


@app.callback()
def main(ctx: typer.Context,
         config: Path = typer.Option(Path("config.toml"), "--config", "-c",
                                     help="TOML settings file (a missing default file means built-in defaults)."),
         verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    # Imported here, not above: `--help` never runs this, and needs neither pydantic nor the logging set-up.
    from bot.config import ConfigError, load_settings
    from bot.logs import setup_logging
    explicit = ctx.get_parameter_source("config").name != "DEFAULT"
    try:
        ctx.obj = load_settings(config, required=explicit)
    except ConfigError as exc:
        errors.print(f"[red]configuration error[/red]\n{exc}", markup=True, highlight=False)
        raise typer.Exit(2)
    setup_logging(verbose, fmt=ctx.obj.logging.format, level=ctx.obj.logging.level)


def _settings(ctx: typer.Context) -> Settings:
    return ctx.obj


def _app(ctx: typer.Context):
    from bot.service.app import build_app  # heavy imports (spaCy) only for commands that need them
    return build_app(_settings(ctx))


@app.command()
def init(ctx: typer.Context) -> None:
    """Create or upgrade the database schema."""
    from bot.store.db import open_database
    open_database(_settings(ctx).database.url)
    console.print(f"database ready: {_settings(ctx).database.url}")


@app.command()
def run(ctx: typer.Context,
        once: bool = typer.Option(False, "--once", help="Drain the mailbox and the outbox, then exit."),
        dry_run: bool = typer.Option(False, "--dry-run", help="With --once: show what would happen, change nothing.")) -> None:
    """Watch the mailbox (IDLE or polling) and send queued mail; the demo when no mailbox is configured."""
    settings = _settings(ctx)
    if not settings.mailbox_configured and dry_run:
        errors.print("No [imap] host configured: there is no mailbox, so nothing to dry-run.\n"
                     "Set [imap] in config.toml (see config.example.toml), or run `supportbot demo`.",
                     markup=False, highlight=False)
        raise typer.Exit(2)
    if not settings.mailbox_configured:
        console.print("No \\[imap] host configured: running the built-in demo instead.\n"
                      "Copy config.example.toml to config.toml and fill in \\[imap] and \\[smtp] for a real mailbox.\n",
                      style="yellow")
        demo(ctx, Path("demo"), reset=False)
        return
    from bot.mail.imap import CONNECTION_ERRORS
    from bot.service.run import run_once
    if dry_run and not once:
        errors.print("--dry-run goes with --once")
        raise typer.Exit(2)
    bot_app = _app(ctx)
    if once:
        from bot.cli.tables import describe_outcome
        observer = (lambda c: console.print(describe_outcome(c), highlight=False, markup=False, soft_wrap=True)) if dry_run else None
        try:
            report = run_once(bot_app, dry_run=dry_run, observer=observer,
                              sender=None if dry_run else _start_sender(bot_app))
        except CONNECTION_ERRORS as exc:
            errors.print(f"mailbox error: {type(exc).__name__}: {' '.join(str(exc).split())}", markup=False,
                         highlight=False, soft_wrap=True)
            raise typer.Exit(1)
        outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(report.fetched.outcomes.items())) or "no new mail"
        console.print(f"messages: {outcomes}")
        if dry_run:
            console.print("dry run: nothing was stored, flagged, moved or sent")
        else:
            from bot.outbox.queue import waiting_mail
            with bot_app.sessions() as session:
                held, retrying = waiting_mail(session)
            console.print(f"mail sent: {report.sent.sent}, failed: {report.sent.failed}; still in the outbox: "
                          f"{held} automatic held by the hourly limit, {retrying} to retry after a temporary failure")
        return
    _run_until_signal(bot_app)


def _start_sender(bot_app):
    """The sender's own process, when [smtp] sender_process asks for it; forked now, before any thread
    or event loop exists."""
    if not bot_app.settings.smtp.sender_process:
        return None
    from bot.service.sender_process import SenderProcess
    sender = SenderProcess(bot_app)
    sender.start()
    return sender


def _run_until_signal(bot_app) -> None:
    from bot.cli.web import run_until_signal
    from bot.config.web import web_settings
    from bot.service.run import run_forever
    serve_web = None
    if web_settings(bot_app.settings).enabled:   # the console (FastAPI, uvicorn) only when it is wanted
        from bot.web.serve import serve_web
    console.print(f"watching {bot_app.settings.imap.folder} on {bot_app.settings.imap.host}; Ctrl-C stops")
    sender = _start_sender(bot_app)
    try:
        run_until_signal(lambda stop: run_forever(bot_app, stop, console=serve_web, sender=sender))
    finally:
        if sender is not None:
            sender.stop()


@app.command()
def demo(ctx: typer.Context,
         folder: Path = typer.Option(Path("demo"), "--dir", help="Where the demo keeps its database and mail.",
                                     file_okay=False),
         reset: bool = typer.Option(False, "--reset", help="Start afresh: delete what an earlier demo left.")) -> None:
    """Run the bot against embedded IMAP and SMTP servers loaded with bilingual sample mail; kept in ./demo/."""
    from bot.cli.demo.run import run_demo
    run_demo(_settings(ctx), console, folder, reset=reset)


@tickets_app.command("list")
def tickets_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="One JSON object per line.")) -> None:
    """List tickets, most urgent first."""
    from bot.clock import SystemClock
    from bot.tickets.views import ticket_rows
    with _session(ctx) as session:
        rows = ticket_rows(session, _settings(ctx), SystemClock().now())
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
        detail = ticket_detail(session, _settings(ctx), SystemClock().now(), reference)
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
    return open_database(_settings(ctx).database.url)()


def _print_json_lines(rows: list[dict]) -> None:
    for row in rows:
        sys.stdout.write(json_line(row) + "\n")


# Commands of the other areas, listed after the everyday ones above.
register_drafts(app)
register_verify(app)
register_classify(app)
register_sla(app)
register_suppressions(app)
register_web(app)
register_retention(app)
register_quarantine(app)
register_mail(app)
register_audit(app)
register_evidence(tickets_app)
