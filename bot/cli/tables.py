"""Terminal tables (rich) for tickets, messages and sent mail."""
from __future__ import annotations

from rich.table import Table


def _days(days: int) -> str:
    colour = "red" if days < 0 else "yellow" if days <= 3 else "green"
    return f"[{colour}]{days}[/{colour}]"


def tickets_table(rows: list[dict]) -> Table:
    table = Table(title=f"Tickets ({len(rows)})", title_justify="left")
    for column in ("Reference", "Kind", "Conf.", "Lang", "Verification", "Requester", "Due", "Days left", "Subject"):
        table.add_column(column, overflow="fold")
    for r in rows:
        kind = r["kind"] + (" [yellow](triage)[/yellow]" if r["needs_triage"] else "")
        if len(r["labels"]) > 1:
            kind += f" (+{','.join(label for label in r['labels'] if label != r['kind'])})"
        check = r["verification"] + (f" ({r['account_id']})" if r["account_id"] else "")
        table.add_row(r["reference"], kind, f"{r['confidence']:.2f}", r["language"], check,
                      r["requester"], r["due_at"][:10], _days(r["days_left"]), r["subject"][:50])
    return table


def messages_table(rows: list[dict]) -> Table:
    table = Table(title=f"Inbound messages ({len(rows)})", title_justify="left")
    for column in ("Ticket", "How handled", "From", "Subject", "New text"):
        table.add_column(column, overflow="fold")
    for r in rows:
        if r["status"] == "quarantined":
            handled = f"[red]quarantined[/red]: {r['quarantine_reason']}"
        elif r["status"] in ("released", "dismissed"):
            handled = f"quarantined, then {r['status']} by staff"
        elif r["machine_mail"]:
            handled = f"[dim]machine mail, not answered[/dim] ({r['machine_reason']})"
        else:
            handled = "opened the ticket" if r["opened_ticket"] else "follow-up"
        text = " ".join((r["new_text"] or "").split())[:60]
        table.add_row(r["ticket"] or "-", handled, r["sender"], r["subject"][:40], text)
    return table


def sent_table(mails: list[tuple[str, str, str]]) -> Table:
    table = Table(title=f"Mail received by the SMTP server ({len(mails)})", title_justify="left")
    for column in ("Kind", "To", "Subject", "Due date line"):
        table.add_column(column, overflow="fold")
    for row in mails:
        table.add_row(*row)
    return table


def describe_outcome(ctx) -> str:
    """One line for a dry run: what the bot would do with this message."""
    msg, loc = ctx.parsed, ctx.location
    head = f"UID {loc.uid} from {msg.from_address or '?'}: "
    if ctx.machine_reason and ctx.ticket is None:
        return head + f"machine mail ({ctx.machine_reason}), stored, not answered"
    if not ctx.opened_ticket:
        return head + f"follow-up to {ctx.ticket.reference}, no reply"
    c = ctx.classification
    sends = "; ".join(f"would send {row.kind} to {row.to_address}" for row in ctx.outbox)
    return head + f"new ticket, {c.kind} ({c.confidence:.2f}, {c.language}); {sends or 'no reply'}"
