"""Everything the ticket page shows: the thread both ways, drafts, account, verification, audit trail."""
from __future__ import annotations

import json
from email import message_from_bytes, policy

from sqlalchemy import func
from sqlmodel import Session, select

from bot.store.accounts.phones import mask_phone
from bot.service.app import App
from bot.drafts.correction import correction_sources
from bot.mail.parse import parse_message
from bot.store.models import AuditEvent, Challenge, Draft, DraftAttachment, InboundMessage, OutboxMessage, Ticket
from bot.store.processor_models import ProcessorNotice
from bot.sla import days_left
from bot.outbox.sms import shown_recipient
from bot.tickets.opening import find_by_reference


# Attachment names listed per message; a mail of 100,000 parts would make a page of megabytes.
SHOWN_PARTS = 50


def _shown(names: list[str]) -> dict:
    return {"attachments": names[:SHOWN_PARTS], "more_attachments": max(0, len(names) - SHOWN_PARTS)}


def find_ticket(session: Session, reference: str) -> Ticket | None:
    return find_by_reference(session, reference)


def _sent_mail(raw: bytes) -> tuple[str, list[str]]:
    """The plain text and attachment names of a mail we composed."""
    msg = message_from_bytes(raw, policy=policy.default)
    body = msg.get_body(("plain",))
    return (body.get_content() if body is not None else ""), [p.get_filename() or "" for p in msg.iter_attachments()]


def _quoted_text(raw: bytes, new_text: str) -> str:
    """The full body when it holds more than the new text (quotes, signature); else ""."""
    if not raw:   # purged under retention
        return ""
    try:
        full = parse_message(raw).text
    except Exception:  # noqa: BLE001 - a message the parser cannot read still shows its new text
        return ""
    return full if full.strip() != new_text.strip() else ""


def thread(session: Session, ticket_id: int, *, purged: bool = False) -> list[dict]:
    """Their messages and ours, oldest first; `purged`: the ticket's bodies went under retention."""
    items = []
    for m in session.exec(select(InboundMessage).where(InboundMessage.ticket_id == ticket_id)):
        items.append({"direction": "in", "at": m.received_at, "order": (m.received_at, 0, m.id), "who": m.sender,
                      "subject": m.subject, "text": m.new_text, "quoted": _quoted_text(m.raw, m.new_text),
                      **_shown(json.loads(m.attachments)), "machine_reason": m.machine_reason,
                      "party": m.party, "status": m.status, "purged": m.purged_at is not None})
    for o in session.exec(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id)):
        text, files = _sent_mail(o.raw)
        items.append({"direction": "out", "at": o.created_at, "order": (o.created_at, 1, o.id),
                      "who": shown_recipient(o.kind, o.to_address),
                      "subject": o.subject, "text": text, "quoted": "", **_shown(files), "kind": o.kind,
                      "status": o.status, "sent_at": o.sent_at, "last_error": o.last_error,
                      "purged": purged and not o.raw})
    return sorted(items, key=lambda item: item["order"])


def drafts(session: Session, ticket_id: int) -> list[dict]:
    """Newest first, each with its attachments' names and sizes (not their bytes)."""
    rows = session.exec(select(Draft).where(Draft.ticket_id == ticket_id).order_by(Draft.id.desc())).all()
    files: dict[int, list[dict]] = {}
    if rows:
        query = select(DraftAttachment.id, DraftAttachment.draft_id, DraftAttachment.filename,
                       DraftAttachment.content_type, func.length(DraftAttachment.data)).where(
            DraftAttachment.draft_id.in_([d.id for d in rows])).order_by(DraftAttachment.id)
        for att_id, draft_id, name, content_type, size in session.exec(query):
            files.setdefault(draft_id, []).append({"id": att_id, "filename": name, "content_type": content_type,
                                                   "size": size})
    return [{"draft": d, "attachments": files.get(d.id, [])} for d in rows]


def audit_trail(session: Session, ticket_id: int) -> list[dict]:
    events = session.exec(select(AuditEvent).where(AuditEvent.ticket_id == ticket_id).order_by(AuditEvent.id))
    return [{"at": e.at, "actor": e.actor, "action": e.action, "detail": json.loads(e.detail)} for e in events]


def processor_rows(session: Session, ticket_id: int) -> list[ProcessorNotice]:
    return list(session.exec(select(ProcessorNotice).where(ProcessorNotice.ticket_id == ticket_id)
                             .order_by(ProcessorNotice.id)))


def ticket_page(session: Session, app: App, reference: str) -> dict | None:
    ticket = find_ticket(session, reference)
    if ticket is None:
        return None
    account = app.accounts(session).get(ticket.account_id) if ticket.account_id else None
    challenge = session.exec(select(Challenge).where(Challenge.ticket_id == ticket.id)
                             .order_by(Challenge.id.desc())).first()
    trail = audit_trail(session, ticket.id)
    matches = [e["detail"] for e in trail if e["action"] == "account.match"]
    purges = [e for e in trail if e["action"] == "retention.purged"]
    all_drafts = drafts(session, ticket.id)
    return {
        "ticket": ticket,
        "days_left": days_left(ticket.due_at, app.clock.now(), app.settings.sla),
        "thread": thread(session, ticket.id, purged=bool(purges)),
        "purged_at": purges[-1]["at"] if purges else None,
        "pending": next((d for d in all_drafts if d["draft"].status == "pending"), None),
        "drafts": all_drafts,
        # Each corrected value beside the requester's message it came from, for staff to check.
        "corrections": correction_sources(session, ticket) if ticket.kind == "correction" else [],
        "account": account,
        "account_phone": mask_phone(account.phone) if account and account.phone else "",
        "challenge": challenge,
        "match": matches[-1] if matches else None,
        "audit": trail,
        "processors": processor_rows(session, ticket.id),
    }
