"""`supportbot run` (the bot: watch, handle, send; the demo when no mailbox is configured) and `demo`."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console()
errors = Console(stderr=True)


def _app(ctx: typer.Context):
    from bot.service.app import build_app  # heavy imports (spaCy) only for commands that need them
    return build_app(ctx.obj)


def run(ctx: typer.Context,
        once: bool = typer.Option(False, "--once", help="Drain the mailbox and the outbox, then exit."),
        dry_run: bool = typer.Option(False, "--dry-run", help="With --once: show what would happen, change nothing.")) -> None:
    """Watch the mailbox (IDLE or polling) and send queued mail; the demo when no mailbox is configured."""
    settings = ctx.obj
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


def demo(ctx: typer.Context,
         folder: Path = typer.Option(Path("demo"), "--dir", help="Where the demo keeps its database and mail.",
                                     file_okay=False),
         reset: bool = typer.Option(False, "--reset", help="Start afresh: delete what an earlier demo left.")) -> None:
    """Run the bot against embedded IMAP and SMTP servers loaded with bilingual sample mail; kept in ./demo/."""
    from bot.cli.demo.run import run_demo
    run_demo(ctx.obj, console, folder, reset=reset)


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(demo)
