"""`supportbot purge [--dry-run]`: the retention purge now, or only what it would empty."""
from __future__ import annotations

import typer
from rich.console import Console

console = Console(highlight=False)
errors = Console(stderr=True, markup=False)


def purge(ctx: typer.Context,
          dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be purged; change nothing."),
          days: int = typer.Option(0, "--days", min=0,
                                   help="With --dry-run: what another \\[retention] days would purge.")) -> None:
    """Empty message bodies, mail copies and drafts of tickets finished more than \\[retention] days ago."""
    from bot.clock import SystemClock
    from bot.store.db import open_database
    from bot.store.retention import report, run_purge
    settings = ctx.obj
    if days and not dry_run:   # a mistyped number must not empty a year of mail
        errors.print("--days goes with --dry-run; to purge with another period, change [retention] days")
        raise typer.Exit(2)
    keep_days = days or settings.retention.days
    sessions = open_database(settings.database.url)
    now = SystemClock().now()
    if dry_run:
        with sessions() as session:
            result = report(session, now, keep_days)
    else:
        result = run_purge(sessions, now, keep_days)
    verb = "would purge" if dry_run else "purged"
    for item in result.tickets:
        counts = ", ".join(f"{name}: {count}" for name, count in item.counts().items() if count)
        console.print(f"{item.reference or item.ticket_id} (completed {item.completed_at:%Y-%m-%d}): {verb} {counts}")
    if result.loose_messages or result.loose_outbox:
        console.print(f"without a ticket: {verb} messages: {result.loose_messages}, outbox: {result.loose_outbox}")
    totals = result.totals()
    console.print(f"{'dry run: ' if dry_run else ''}{totals['tickets']} ticket(s) completed before "
                  f"{result.cutoff:%Y-%m-%d %H:%M} UTC ({keep_days} days ago); "
                  f"messages {totals['messages']}, mail copies {totals['outbox']}, drafts {totals['drafts']}, "
                  f"attachments {totals['attachments']}"
                  + ("; nothing was changed" if dry_run else ""))


def register(app: typer.Typer) -> None:
    app.command()(purge)
