"""Mail to staff and managers (reminders, digests): queued in the outbox like any other mail."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot import audit
from bot.mail.compose import compose, new_message_id
from bot.models import OutboxMessage

if TYPE_CHECKING:
    from bot.config import Settings


def queue_staff_mail(session: Session, *, settings: Settings, now: datetime, kind: str, to: str,
                     subject: str, text: str, html: str | None = None,
                     ticket_ids: tuple[int, ...] = ()) -> OutboxMessage:
    """Like bot.outbox.queue_mail, for mail about many tickets (or none): no single reference."""
    smtp = settings.smtp
    message_id = new_message_id(smtp.from_address)
    # Generated on a schedule, not in reply to anyone (RFC 3834).
    raw = compose(from_address=smtp.from_address, from_name=smtp.from_name, to=to, subject=subject,
                  text=text, html=html, message_id=message_id, date=now, auto_submitted="auto-generated",
                  kind=kind)
    row = OutboxMessage(ticket_id=None, kind=kind, to_address=to, subject=subject, message_id=message_id,
                        raw=raw, next_attempt_at=now, created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, now, "mail.queued", kind=kind, outbox_id=row.id, message_id=message_id,
                 to=to, tickets=list(ticket_ids[:200]))
    return row
