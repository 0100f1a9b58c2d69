"""Codes by SMS: queued in the outbox with the ticket, handed to an SmsSender (a gateway) after commit.

A real gateway implements SmsSender; the built-in one only logs that a code was due.

To wire a gateway: write a class with `send_code(phone_e164, code, reference) -> None` that raises
SmsError on failure, and return it from `make_sms_sender` for a new `[verification] sms_sender`
value. It is never called inside a ticket's transaction: `queue_sms` adds an outbox row (kind
SMS_KIND) there, and the sender (bot/outbox/sender.py) calls the gateway only once that has committed,
so a rolled-back batch sends no code. An SmsError is retried with backoff like a temporary SMTP
failure, and after `[smtp] max_attempts` the row shows on the console's Undelivered page.
`send_code` runs in a worker thread and should answer within `[smtp] timeout_seconds`.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, func, select

from bot.store import audit
from bot.store.accounts.phones import mask_phone
from bot.outbox.loops import ACK_WITH_CODE, window_start, withhold_reason
from bot.mail.compose import new_message_id
from bot.mail.sms import SmsSender
from bot.outbox.queue import add_row
from bot.store.models import OutboxMessage, Ticket

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

# The outbox kind of a code by SMS: to_address holds the E.164 phone, raw the gateway's parameters.
SMS_KIND = "challenge-sms"
# Outgoing kinds that carry a one-time code: their stored copy is emptied once delivered.
CODE_KINDS = ("challenge", ACK_WITH_CODE, SMS_KIND)


def queue_sms(session: Session, *, settings: Settings, now: datetime, ticket: Ticket, phone: str, code: str,
              actor: str = "bot") -> OutboxMessage | None:
    """Add the code for `phone` to the outbox; the sender sends it once this transaction commits.

    The bot sends one phone at most `[loops] per_address_per_hour` codes an hour, as it mails one
    address: someone naming a stranger's number in many mails must not flood that phone. Over it,
    None is returned and a "mail.withheld" event says why. A person's resend is never withheld."""
    if actor == "bot":
        recent = session.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == SMS_KIND, OutboxMessage.to_address == phone,
            OutboxMessage.created_at > window_start(now))).one()
        if reason := withhold_reason(suppressed=None, to_address_recently=recent,
                                     per_address_per_hour=settings.loops.per_address_per_hour):
            audit.record(session, now, "mail.withheld", ticket_id=ticket.id, actor=actor, kind=SMS_KIND,
                         to=mask_phone(phone), reason=reason)
            log.warning("automatic %s withheld: %s", SMS_KIND, reason)
            return None
    row = add_row(session, ticket_id=ticket.id, kind=SMS_KIND, to_address=phone,
                  subject=f"[{ticket.reference}] verification code by SMS",
                  message_id=new_message_id(settings.smtp.from_address),   # unique; never seen in any mail
                  raw=json.dumps({"code": code, "reference": ticket.reference}).encode(), now=now)
    audit.record(session, now, "mail.queued", ticket_id=ticket.id, actor=actor, kind=SMS_KIND, outbox_id=row.id,
                 message_id=row.message_id)
    return row


def deliver(sms: SmsSender, row: OutboxMessage) -> None:
    """Hand one queued code to the gateway (blocking: the sender runs it in a thread)."""
    params = json.loads(row.raw)
    sms.send_code(row.to_address, params["code"], params["reference"])


def shown_recipient(kind: str, to_address: str) -> str:
    """The recipient as screens show it: a phone masked, an address as it is."""
    return mask_phone(to_address) if kind == SMS_KIND else to_address
