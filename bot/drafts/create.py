"""Creates the draft reply for a ticket in the requester's language, from templates/email/<lang>/draft_*."""
from __future__ import annotations

from email import policy
from email.parser import BytesHeaderParser
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot.store import audit
from bot.drafts.correction import correction_sources
from bot.drafts.export import build_export, extra_data
from bot.store.models import Draft, DraftAttachment, InboundMessage, Ticket
from bot.store.rows import insert_row
from bot.sla import local_date
from bot.drafts.guard import require_verified

if TYPE_CHECKING:
    from bot.mail.context import Services


def _opening(session: Session, ticket: Ticket) -> tuple[str, str]:
    """The request's text, and the display name in its From header ("" when it has none)."""
    first = session.exec(select(InboundMessage.new_text, InboundMessage.raw).where(
        InboundMessage.ticket_id == ticket.id, InboundMessage.opened_ticket == True)).first()  # noqa: E712
    if first is None:
        return "", ""
    return first[0] or "", display_name(first[1] or b"")


def display_name(raw: bytes) -> str:
    """The name the sender wrote under: we greet by it, never by an account nickname (not theirs to give)."""
    try:
        header = BytesHeaderParser(policy=policy.default).parsebytes(raw)["From"]
        addresses = getattr(header, "addresses", ())
        return greeting_name(addresses[0].display_name) if addresses else ""
    except Exception:  # noqa: BLE001 - an unreadable From: greet neutrally
        return ""


def greeting_name(display_name: str) -> str:
    return " ".join(display_name.split())[:80]


def create_draft(session: Session, ticket: Ticket, deps: Services, *, actor: str = "bot",
                 opening: tuple[str, str] | None = None) -> Draft:
    """Replace any pending draft of the ticket with a fresh one for its current kind.

    `opening`: the request's new text and its sender's display name, when the caller has the message
    in hand (intake, as it opens the ticket); otherwise they are read back from the stored message."""
    now, settings = deps.clock.now(), deps.settings
    if opening is None:   # a new ticket has no earlier draft to replace
        for old in session.exec(select(Draft).where(Draft.ticket_id == ticket.id, Draft.status == "pending")):
            old.status = "superseded"
            session.add(old)
    account = deps.accounts(session).get(ticket.account_id) if ticket.account_id else None
    original, name = (opening[0], greeting_name(opening[1])) if opening else _opening(session, ticket)
    context = dict(reference=ticket.reference, kind=ticket.kind, name=name,
                   due_date=local_date(ticket.due_at, settings.sla), original=original)
    attachments: list[tuple[str, str, bytes]] = []
    if ticket.kind in ("access", "deletion"):
        require_verified(ticket)  # nothing is disclosed or deleted for an unproven requester
    if ticket.kind == "access" and account is not None:
        extra = extra_data(settings, account.account_id)
        attachments = build_export(account, extra, reference=ticket.reference, generated=now.isoformat(),
                                   language=ticket.language)
        context.update(attachments=[name for name, _, _ in attachments],
                       sections=["profile", *extra], rows=sum(len(rows) for rows in extra.values()))
    elif ticket.kind == "correction":
        context.update(corrections=correction_sources(session, ticket))
    elif ticket.kind == "deletion":
        context.update(third_parties=[p.name for p in settings.deletion.third_parties])
    mail = deps.renderer.render(f"draft_{ticket.kind}", ticket.language, **context)
    draft = Draft(ticket_id=ticket.id, kind=ticket.kind, language=ticket.language,
                  to_address=ticket.verified_address or ticket.requester, subject=mail.subject, text=mail.text,
                  created_at=now)
    insert_row(session, draft)
    for filename, content_type, data in attachments:
        session.add(DraftAttachment(draft_id=draft.id, filename=filename, content_type=content_type, data=data))
    audit.record(session, now, "draft.created", ticket_id=ticket.id, actor=actor, draft_id=draft.id,
                 kind=draft.kind, attachments=[a[0] for a in attachments])
    return draft
