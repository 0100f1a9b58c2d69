"""`supportbot mail check`: says in plain words what works and what does not in reaching the mailbox."""
from __future__ import annotations

import typer
from rich.console import Console

console = Console(highlight=False)
MARKS = {True: "[green]ok  [/green]", False: "[red]FAIL[/red]", None: "[dim]skip[/dim]"}


def check(ctx: typer.Context) -> None:
    """Connect to IMAP and SMTP as configured: DNS, TCP/TLS, login, folders, IDLE, sending rights (nothing is sent)."""
    import asyncio

    from bot.mail.check import Report
    from bot.mail.check_imap import check_imap
    from bot.mail.check_smtp import check_smtp
    report = Report()
    asyncio.run(check_imap(ctx.obj, report))
    asyncio.run(check_smtp(ctx.obj, report))
    for step in report.steps:
        console.print(f"{MARKS[step.ok]}  {step.area} {step.name}: ", end="")
        console.print(step.detail, markup=False, soft_wrap=True)
    failures = [f"{s.area} {s.name}" for s in report.steps if s.ok is False]
    if failures:
        console.print(f"mail check failed at: {', '.join(failures)}", markup=False, soft_wrap=True)
        raise typer.Exit(1)
    console.print("mail check passed: the bot can read and send mail with these settings")


def register(app: typer.Typer) -> None:
    mail_app = typer.Typer(help="The mailbox connection.", no_args_is_help=True)
    mail_app.command("check")(check)
    app.add_typer(mail_app, name="mail")
