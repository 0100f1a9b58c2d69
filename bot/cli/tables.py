"""Terminal output (rich tables, JSON lines) for tickets, messages and sent mail; mail's text made harmless."""
from __future__ import annotations

import json
import re

from rich.table import Table
from rich.text import Text

# C0 and C1 controls (ESC, 8-bit CSI, BEL...): in mail they could retitle or repaint the terminal.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_C1 = re.compile(r"[\x7f-\x9f]")   # json.dumps escapes C0 itself, not these


def harmless(value: str | None, *, keep: str = "") -> str:
    """Text from mail with its control characters (but those in `keep`, e.g. "\\n") shown as \\xNN."""
    return _CONTROLS.sub(lambda m: m.group() if m.group() in keep else f"\\x{ord(m.group()):02x}", value or "")


def printable(value: str | None) -> Text:
    """Text from mail for a table cell: controls shown as \\xNN, '[...]' shown, never read as markup."""
    return Text(harmless(value))


def json_line(row: dict, **options) -> str:
    """One JSON value as text safe on a terminal; every character kept (as an escape where needed)."""
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(row, ensure_ascii=False, **options))


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
        table.add_row(r["reference"], kind, f"{r['confidence']:.2f}", r["language"], printable(check),
                      printable(r["requester"]), r["due_at"][:10], _days(r["days_left"]), printable(r["subject"][:50]))
    return table


def messages_table(rows: list[dict]) -> Table:
    table = Table(title=f"Inbound messages ({len(rows)})", title_justify="left")
    for column in ("Ticket", "How handled", "From", "Subject", "New text"):
        table.add_column(column, overflow="fold")
    for r in rows:
        if r["status"] == "quarantined":
            handled = Text.assemble(("quarantined", "red"), ": ", printable(r["quarantine_reason"]))
        elif r["status"] in ("released", "dismissed"):
            handled = Text(f"quarantined, then {r['status']} by staff")
        elif r["machine_mail"]:
            handled = Text.assemble(("machine mail, not answered", "dim"), " (", printable(r["machine_reason"]), ")")
        else:
            handled = Text("opened the ticket" if r["opened_ticket"] else "follow-up")
        text = " ".join((r["new_text"] or "").split())[:60]
        table.add_row(r["ticket"] or "-", handled, printable(r["sender"]), printable(r["subject"][:40]),
                      printable(text))
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
    head = f"UID {loc.uid} from {harmless(msg.from_address) or '?'}: "
    if ctx.machine_reason and ctx.ticket is None:
        return head + f"machine mail ({ctx.machine_reason}), stored, not answered"
    if not ctx.opened_ticket:
        return head + f"follow-up to {ctx.ticket.reference}, no reply"
    c = ctx.classification
    sends = "; ".join(f"would send {row.kind} to {harmless(row.to_address)}" for row in ctx.outbox)
    return head + f"new ticket, {c.kind} ({c.confidence:.2f}, {c.language}); {sends or 'no reply'}"
