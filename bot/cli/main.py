"""The `supportbot` command line (Typer): init, run, demo, tickets, messages."""
from __future__ import annotations

from pathlib import Path

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
from bot.cli.run import register as register_run
from bot.cli.tickets import register as register_tickets

hide_flag_types()
app = OneLineFaults(help="supportbot: runs the privacy-rights mailbox.", no_args_is_help=True,
                    pretty_exceptions_enable=False)

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


@app.command()
def init(ctx: typer.Context) -> None:
    """Create or upgrade the database schema."""
    from bot.store.db import open_database
    open_database(ctx.obj.database.url)
    console.print(f"database ready: {ctx.obj.database.url}")


# The everyday commands first (`--help` lists them in this order), then the other areas.
register_run(app)
tickets_app = register_tickets(app)
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
