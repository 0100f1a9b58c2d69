"""The acknowledgement a new ticket gets: its reference and due date, in the requester's language."""
from __future__ import annotations

from sqlmodel import Session

from bot.mail.context import MessageContext, Services
from bot.outbox.loops import ACK_WITH_CODE
from bot.outbox.queue import queue_mail
from bot.sla import local_date
from bot.store.models import OutboxMessage


def queue_acknowledgement(session: Session, ctx: MessageContext, deps: Services) -> OutboxMessage | None:
    """The acknowledgement; it carries the one-time code or the account question when verification set one."""
    settings, ticket, msg = deps.settings, ctx.ticket, ctx.parsed
    code = ctx.ack_code[1] if ctx.ack_code else ""
    fields = {"reference": ticket.reference, "original_subject": msg.normalized_subject,
              "received_date": local_date(ticket.received_at, settings.sla),
              "due_date": local_date(ticket.due_at, settings.sla), "name": msg.from_name.strip(), "code": code}
    mail = deps.renderer.render_filled(
        "ack", ticket.language, fields, kind=ticket.kind, timezone=settings.sla.timezone, sla_days=settings.sla.days,
        hours=settings.verification.code_ttl_hours, ask_account=ctx.ack_asks_account,
    )
    return queue_mail(
        session, settings=settings, now=deps.clock.now(), ticket=ticket, kind=ACK_WITH_CODE if code else "ack",
        to=ticket.requester, subject=mail.subject, text=mail.text,
        in_reply_to=msg.message_id, references=msg.references,
    )
