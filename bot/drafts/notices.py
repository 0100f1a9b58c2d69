"""Deletion notices to processors, each with its reply token, and the reminders that follow silence."""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot.store import audit
from bot.config import Settings
from bot.store.models import Ticket
from bot.outbox.queue import queue_mail
from bot.store.processor_models import WAITING, ProcessorNotice

if TYPE_CHECKING:
    from bot.mail.context import Services
    from bot.mail.render import MailRenderer

TOKEN = re.compile(r"\bP-([0-9a-f]{10})\b")
NOTICE_KIND, REMINDER_KIND, ESCALATION_KIND = "third-party-notice", "processor-reminder", "processor-escalation"


def send_notice(session: Session, ticket: Ticket, party, deps: Services, *, actor: str) -> ProcessorNotice | None:
    """Queue the notice to `party` with a fresh token in its subject; its answer threads back by either."""
    now, token = deps.clock.now(), f"P-{secrets.token_hex(5)}"
    mail = deps.renderer.render("third_party_notice", "bilingual", reference=ticket.reference,
                                account_id=ticket.account_id, party=party.name)
    row = queue_mail(session, settings=deps.settings, now=now, ticket=ticket, kind=NOTICE_KIND, to=party.email,
                     subject=f"{mail.subject} ({token})", text=mail.text, auto_submitted=None, actor=actor)
    if row is None:
        return None
    notice = ProcessorNotice(ticket_id=ticket.id, party=party.name, email=party.email.lower(), token=token,
                             message_id=row.message_id, outbox_id=row.id, sent_at=now)
    session.add(notice)
    return notice


def remind(session: Session, *, settings: Settings, now: datetime, renderer: MailRenderer) -> list[str]:
    """Remind each notice silent for [deletion] confirm_days; after confirm_reminders, escalate to staff."""
    cfg, done = settings.deletion, []
    cutoff = now - timedelta(days=cfg.confirm_days)
    waiting = session.exec(select(ProcessorNotice, Ticket).join(Ticket, Ticket.id == ProcessorNotice.ticket_id)
                           .where(ProcessorNotice.state == WAITING).order_by(ProcessorNotice.id)).all()
    for notice, ticket in waiting:
        if (notice.last_reminded_at or notice.sent_at) > cutoff:
            continue
        if notice.reminders < cfg.confirm_reminders:
            mail = renderer.render("processor_reminder", "bilingual", reference=ticket.reference,
                                   account_id=ticket.account_id, party=notice.party, sent_at=notice.sent_at,
                                   count=notice.reminders + 1)
            queue_mail(session, settings=settings, now=now, ticket=ticket, kind=REMINDER_KIND, to=notice.email,
                       subject=f"{mail.subject} ({notice.token})", text=mail.text, in_reply_to=notice.message_id,
                       references=(notice.message_id,), auto_submitted="auto-generated")
            notice.reminders, notice.last_reminded_at = notice.reminders + 1, now
            audit.record(session, now, "processor.reminded", ticket_id=ticket.id, party=notice.party,
                         notice_id=notice.id, reminder=notice.reminders)
        else:
            notice.state, notice.escalated_at = "escalated", now
            _escalate(session, settings, now, renderer, notice, ticket)
        session.add(notice)
        done.append(f"{ticket.reference}:{notice.party}:{notice.state}")
    return done


def _escalate(session: Session, settings: Settings, now: datetime, renderer: MailRenderer,
              notice: ProcessorNotice, ticket: Ticket) -> None:
    recipients = list(dict.fromkeys([*settings.staff.reminders_to, *settings.staff.managers]))
    mail = renderer.render("processor_escalation", "en", reference=ticket.reference, party=notice.party,
                           email=notice.email, sent_at=notice.sent_at, reminders=notice.reminders)
    for to in recipients:   # about the ticket, not of it: staff mail stays out of its evidence pack
        queue_mail(session, settings=settings, now=now, ticket=None, kind=ESCALATION_KIND, to=to,
                   subject=f"[{ticket.reference}] {mail.subject}", text=mail.text, auto_submitted="auto-generated",
                   about=(ticket.id,))
    audit.record(session, now, "processor.escalated", ticket_id=ticket.id, party=notice.party,
                 notice_id=notice.id, reminders=notice.reminders, told=len(recipients))
