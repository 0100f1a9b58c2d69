"""Staff decisions on a draft: approve (exactly the approved text is sent, once) or reject with a reason."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot.store import audit
from bot.store.write_lock import take_write_lock
from bot.store.models import ActionRun, Draft, DraftAttachment, InboundMessage, Ticket
from bot.outbox.queue import queue_mail
from bot.drafts.notices import send_notice
from bot.drafts.guard import require_verified
from bot.sla.delivery import reply_approved
from bot.mail.written_language import OtherLanguage, check_typed_text

if TYPE_CHECKING:
    from bot.mail.context import Services


class DraftError(ValueError):
    """The decision cannot be taken (already decided, unverified, nothing written...)."""


def _pending(session: Session, draft_id: int) -> tuple[Draft, Ticket]:
    take_write_lock(session)   # two staff deciding at once: the second finds it decided
    draft = session.get(Draft, draft_id, with_for_update=True)
    if draft is None:
        raise DraftError(f"no draft {draft_id}")
    if draft.status != "pending":
        raise DraftError(f"draft {draft_id} is already {draft.status}")
    return draft, session.get(Ticket, draft.ticket_id)


def approve(session: Session, draft_id: int, deps: Services, *, actor: str, text: str | None = None,
            other_language: bool = False) -> Draft:
    """Queue exactly the approved text. Lines staff added to a Chinese draft must be Chinese unless they
    confirm (`other_language`) that they go as typed."""
    draft, ticket = _pending(session, draft_id)
    if draft.kind in ("access", "deletion"):
        require_verified(ticket)
    final = draft.text if text is None else text.replace("\r\n", "\n")
    if draft.kind == "other" and final.strip() == draft.text.strip():
        raise DraftError("write the reply before approving this draft")
    if not final.strip():
        raise DraftError("the reply is empty")
    drafted = set(draft.text.splitlines())
    added = "\n".join(line for line in final.splitlines() if line not in drafted)
    try:
        check_typed_text(added, draft.language, confirmed=other_language, what="the text you added")
    except OtherLanguage as exc:
        raise DraftError(f"{exc} (tick \"send as typed\")") from exc
    now = deps.clock.now()
    opening = session.exec(select(InboundMessage.message_id).where(
        InboundMessage.ticket_id == ticket.id, InboundMessage.opened_ticket == True)).first()  # noqa: E712
    files = session.exec(select(DraftAttachment).where(DraftAttachment.draft_id == draft.id).order_by(DraftAttachment.id))
    row = queue_mail(session, settings=deps.settings, now=now, ticket=ticket, kind=f"reply-{draft.kind}",
                     to=draft.to_address, subject=draft.subject, text=final, in_reply_to=opening,
                     auto_submitted=None, actor=actor,
                     attachments=tuple((f.filename, f.content_type, f.data) for f in files))
    draft.edited, draft.text = final != draft.text, final
    draft.status, draft.decided_at, draft.decided_by, draft.outbox_id = "approved", now, actor, row.id
    session.add(draft)
    reply_approved(ticket)   # the clock stops when the server accepts it (bot.sla.delivery)
    session.add(ticket)
    audit.record(session, now, "draft.approved", ticket_id=ticket.id, actor=actor, draft_id=draft.id,
                 edited=draft.edited, outbox_id=row.id)
    if draft.kind == "deletion":
        _schedule_deletion(session, ticket, deps, actor=actor)
    return draft


def reject(session: Session, draft_id: int, deps: Services, *, actor: str, reason: str) -> Draft:
    if not reason.strip():
        raise DraftError("a reason is required")
    draft, ticket = _pending(session, draft_id)
    now = deps.clock.now()
    draft.status, draft.decided_at, draft.decided_by, draft.reject_reason = "rejected", now, actor, reason.strip()
    session.add(draft)
    audit.record(session, now, "draft.rejected", ticket_id=ticket.id, actor=actor, draft_id=draft.id,
                 reason=reason.strip())
    return draft


def _schedule_deletion(session: Session, ticket: Ticket, deps: Services, *, actor: str) -> None:
    """The deletion's side effects join the approval's transaction: queued once, run after commit."""
    now, cfg = deps.clock.now(), deps.settings.deletion
    for action, configured in (("deletion.sql", cfg.sql), ("deletion.command", cfg.command)):
        if configured:
            session.add(ActionRun(ticket_id=ticket.id, action=action, account_id=ticket.account_id, created_at=now))
    for party in cfg.third_parties:   # each with a token that threads its answer back (bot/processors)
        send_notice(session, ticket, party, deps, actor=actor)
    audit.record(session, now, "deletion.scheduled", ticket_id=ticket.id, actor=actor,
                 actions=[a for a, c in (("deletion.sql", cfg.sql), ("deletion.command", cfg.command)) if c],
                 notified=[p.name for p in cfg.third_parties])
