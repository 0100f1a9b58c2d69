"""SLA commands: `digest --preview|--send`, `sla extend|assign|complete|sweep`."""
from __future__ import annotations

import getpass
from pathlib import Path

import typer
from rich.console import Console

sla_app = typer.Typer(help="The 15-day clock: extensions, assignment, completion, reminders.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True, markup=False)  # messages name settings like [staff]


def _sessions(ctx: typer.Context):
    from bot.store.db import open_database
    return open_database(ctx.obj.database.url)


def _now():
    from bot.clock import SystemClock
    return SystemClock().now()


def _send_queued(ctx: typer.Context, sessions) -> None:
    """Send what was just queued (and anything else due), as `run --once` would: an approved reply sent
    with it completes its ticket (bot/sla/delivery.py), or it would stay "replying" until the bot runs."""
    import asyncio
    from bot.clock import SystemClock
    from bot.mail.sink import SmtpSink
    from bot.service.app import sent_copies_from_settings
    from bot.outbox.sender import drain_outbox
    from bot.mail.sms import make_sms_sender
    from bot.sla.delivery import settle_replies
    smtp, clock = ctx.obj.smtp, SystemClock()
    report = asyncio.run(drain_outbox(sessions, SmtpSink(smtp), clock, smtp,
                                      sent_copies=sent_copies_from_settings(ctx.obj),
                                      global_per_hour=ctx.obj.loops.global_per_hour,
                                      sms=make_sms_sender(ctx.obj.verification.sms_sender)))
    settle_replies(sessions, ctx.obj, clock)
    console.print(f"mail sent: {report.sent}, deferred: {report.deferred}, failed: {report.failed}")


def _ticket(session, reference: str):
    from bot.tickets.opening import find_by_reference
    ticket = find_by_reference(session, reference)
    if ticket is None:
        errors.print(f"no ticket {reference}")
        raise typer.Exit(1)
    return ticket


def digest(ctx: typer.Context,
           preview: Path = typer.Option(None, "--preview", dir_okay=False, help="Write the digest to FILE.html; send nothing."),
           send: bool = typer.Option(False, "--send", help="Send the digest to the managers (\\[staff] managers) now."),
           to: list[str] = typer.Option([], "--to", help="With --send: these addresses instead of the managers.")) -> None:
    """The managers' SLA digest: open tickets, due soon, overdue, answered in time, load, backlog chart."""
    from bot.store.db import transaction
    from bot.mail.render import MailRenderer
    from bot.sla.digest_mail import queue_digest
    from bot.sla.digest_mail import build_digest
    if (preview is None) == (not send):
        errors.print("choose exactly one of --preview FILE.html, --send")
        raise typer.Exit(2)
    if preview is not None and not preview.parent.is_dir():
        errors.print(f"cannot write the preview to {preview}: there is no folder {preview.parent}")
        raise typer.Exit(2)
    sessions = _sessions(ctx)
    if preview is not None:
        with sessions() as session:
            rendered = build_digest(session, ctx.obj, _now(), MailRenderer())
        preview.write_text(rendered.html, encoding="utf-8")
        console.print(f"{rendered.subject}\nwrote {preview}", highlight=False)
        return
    try:
        with transaction(sessions) as session:
            queued = queue_digest(session, settings=ctx.obj, now=_now(), renderer=MailRenderer(),
                                  recipients=[address.lower() for address in to] or None)
    except ValueError as exc:
        errors.print(str(exc))
        raise typer.Exit(2)
    console.print(f"digest queued for {', '.join(row.to_address for row in queued)}")
    _send_queued(ctx, sessions)


@sla_app.command()
def extend(ctx: typer.Context, ticket: str = typer.Argument(..., help="Ticket reference, e.g. ESL-000123"),
           days: int = typer.Option(..., "--days", min=1, help="Days to add (\\[sla] day_kind: calendar or working)."),
           reason: str = typer.Option(..., "--reason", help="Why; the requester is told, and it is audited."),
           by: str = typer.Option("", "--by", help="Who decides (default: the login name)."),
           other_language: bool = typer.Option(False, "--other-language",
                                               help="Send a reason not in the requester's language (Chinese) as typed.")
           ) -> None:
    """Extend a ticket's due date; the requester gets a notice with the new date and the reason."""
    from bot.store.db import transaction
    from bot.mail.render import MailRenderer
    from bot.sla.calendar import local_date
    from bot.sla.extension import extend_due
    from bot.mail.written_language import OtherLanguage
    with transaction(_sessions(ctx)) as session:
        row = _ticket(session, ticket)
        try:
            extend_due(session, row, days=days, reason=reason, actor=f"staff:{by or getpass.getuser()}",
                       settings=ctx.obj, renderer=MailRenderer(), now=_now(), other_language=other_language)
        except ValueError as exc:
            errors.print(str(exc) + (" (--other-language)" if isinstance(exc, OtherLanguage) else ""))
            raise typer.Exit(2)
        due = local_date(row.due_at, ctx.obj.sla)
    console.print(f"{ticket.upper()}: due {due}; the requester's notice is queued")


@sla_app.command()
def assign(ctx: typer.Context, ticket: str = typer.Argument(...),
           to: str = typer.Option("", "--to", help="The staff member's address; empty: back to \\[staff] reminders_to."),
           by: str = typer.Option("", "--by", help="Who decides (default: the login name).")) -> None:
    """Give a ticket to a staff member: their reminders go to them alone."""
    from bot.store.db import transaction
    from bot.sla.clock_rules import assign as assign_ticket, staff_assignee
    try:
        with transaction(_sessions(ctx)) as session:
            assign_ticket(session, _ticket(session, ticket), staff_assignee(session, to), _now(),
                          actor=f"staff:{by or getpass.getuser()}")
    except ValueError as exc:
        errors.print(f"Not assigned: {exc}")
        raise typer.Exit(1) from None
    console.print(f"{ticket.upper()}: {'assigned to ' + to.lower() if to else 'unassigned'}")


@sla_app.command()
def complete(ctx: typer.Context, ticket: str = typer.Argument(...),
             status: str = typer.Option("answered", "--status", help="answered | closed"),
             by: str = typer.Option("", "--by", help="Who decides (default: the login name).")) -> None:
    """Stop a ticket's clock: it was answered (or closed) now; the digest counts whether in time."""
    from bot.store.db import transaction
    from bot.sla.clock_rules import mark_completed
    with transaction(_sessions(ctx)) as session:
        try:
            row = mark_completed(session, _ticket(session, ticket), ctx.obj, _now(), status=status,
                                 actor=f"staff:{by or getpass.getuser()}")
        except ValueError as exc:
            errors.print(str(exc))
            raise typer.Exit(2)
        on_time = row.on_time
    console.print(f"{ticket.upper()}: {status}, {'in time' if on_time else 'LATE'}")


@sla_app.command("sweep")
def sweep_once(ctx: typer.Context) -> None:
    """Run one reminder sweep now (the running bot does this every \\[reminders] sweep_minutes)."""
    from bot.clock import SystemClock
    from bot.mail.render import MailRenderer
    from bot.service.scheduler import SlaJobs
    sessions = _sessions(ctx)
    report = SlaJobs(sessions=sessions, clock=SystemClock(), settings=ctx.obj, renderer=MailRenderer()).sweep()
    for recipient, count in sorted(report.mails.items()):
        console.print(f"reminder to {recipient}: {count} ticket(s)")
    if report.no_recipient:
        errors.print(f"nobody to remind about {', '.join(report.no_recipient)}: set [staff] reminders_to")
    if report.mails:
        _send_queued(ctx, sessions)
    else:
        console.print("no reminder due")


def register(app: typer.Typer) -> None:
    app.command()(digest)
    app.add_typer(sla_app, name="sla")
