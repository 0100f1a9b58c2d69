"""The ticket page and the staff decisions taken on it: approve/reject a draft, reclassify, verify."""
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select
from starlette.responses import Response

from bot.classify import KINDS
from bot.store.db import transaction
from bot.drafts.actions import run_pending_actions
from bot.drafts.approve import DraftError, approve, reject
from bot.store.models import Draft, DraftAttachment, InboundMessage, StaffUser, Ticket
from bot.tickets.opening import reclassify
from bot.drafts.guard import NotVerified
from bot.web.readable import N_
from bot.web.render import render
from bot.web.security import bot_app, current_user, flash, staff_form
from bot.web.ticket_moves import assignee_of, look_up_accounts, next_in_queue, staff_addresses
from bot.web.ticket_view import find_ticket, ticket_page

router = APIRouter()
Staff = Annotated[StaffUser, Depends(current_user)]
StaffPost = Annotated[StaffUser, Depends(staff_form)]
Text = Annotated[str, Form(max_length=200_000)]


def actor(user: StaffUser) -> str:
    return f"staff:{user.email}"


def _to_ticket(reference: str) -> RedirectResponse:
    return RedirectResponse(f"/tickets/{reference}", status_code=303)


def _decide(request: Request, reference: str, decision: Callable[[Session, Ticket], str | tuple[str, dict]], *,
            move_on: bool = False) -> Response:
    """Run one decision in one transaction; its refusal (not verified, already decided...) is shown, not raised.

    `move_on`: once done, on to the next ticket in the queue (after approving or rejecting a draft)."""
    app = bot_app(request)
    following = None
    try:
        with transaction(app.sessions) as session:
            ticket = find_ticket(session, reference)
            if ticket is None:
                raise HTTPException(404, f"No ticket {reference}.")
            done = decision(session, ticket)
            following = next_in_queue(session, ticket) if move_on else None
    except (DraftError, NotVerified, ValueError) as exc:
        flash(request, "error", str(exc))
        return _to_ticket(reference.upper())
    text, values = done if isinstance(done, tuple) else (done, {})
    flash(request, "ok", text, prefix=f"{reference.upper()}: " if move_on else "", **values)
    if move_on:
        return _to_ticket(following) if following else RedirectResponse("/", status_code=303)
    return _to_ticket(reference.upper())


@router.get("/tickets/{reference}")
def ticket(request: Request, reference: str, user: Staff,
           find: Annotated[str, Query(max_length=200)] = "") -> Response:
    app = bot_app(request)
    with app.sessions() as session:
        page = ticket_page(session, app, reference)
        if page is None:
            raise HTTPException(404, f"No ticket {reference}.")
        found = look_up_accounts(app.accounts(session), find, app.settings.accounts.default_region) if find else []
        people = staff_addresses(session)
        owner = assignee_of(session, page["ticket"])
    return render(request, "ticket.html", section="queue", kinds=KINDS, find=find, found=found, staff=people,
                  assignee=owner, **page)


def _draft_reference(request: Request, draft_id: int) -> str:
    with bot_app(request).sessions() as session:
        found = session.exec(select(Ticket.reference).join(Draft, Draft.ticket_id == Ticket.id)
                             .where(Draft.id == draft_id)).first()
    if found is None:
        raise HTTPException(404, f"No draft {draft_id}.")
    return found


@router.post("/drafts/{draft_id}/approve")
def approve_draft(request: Request, draft_id: int, text: Text, user: StaffPost,
                  background: BackgroundTasks, other_language: Annotated[bool, Form()] = False) -> Response:
    app = bot_app(request)

    def decide(session: Session, _ticket: Ticket) -> str:
        draft = approve(session, draft_id, app.pipeline, actor=actor(user), text=text, other_language=other_language)
        # Deletions run their side effects after the approval has committed, off the request.
        background.add_task(run_pending_actions, app.sessions, app.settings, app.clock)
        return (N_("Approved with your edits: the reply to %(to)s is queued.") if draft.edited else
                N_("Approved: the reply to %(to)s is queued."), {"to": draft.to_address})
    return _decide(request, _draft_reference(request, draft_id), decide, move_on=True)


@router.post("/drafts/{draft_id}/reject")
def reject_draft(request: Request, draft_id: int, user: StaffPost, reason: Text = "") -> Response:
    app = bot_app(request)

    def decide(session: Session, _ticket: Ticket) -> str:
        reject(session, draft_id, app.pipeline, actor=actor(user), reason=reason)
        return N_("Rejected: nothing was sent.")
    return _decide(request, _draft_reference(request, draft_id), decide, move_on=True)


@router.post("/tickets/{reference}/reclassify")
def reclassify_ticket(request: Request, reference: str, user: StaffPost, kind: Annotated[str, Form()] = "") -> Response:
    app = bot_app(request)

    def decide(session: Session, ticket: Ticket) -> str:
        if kind == ticket.kind:
            raise ValueError(f"the ticket is already {kind}")
        if session.exec(select(InboundMessage.id).where(InboundMessage.ticket_id == ticket.id,
                                                        InboundMessage.purged_at.is_not(None))).first():
            raise ValueError("the request's text was purged under retention: it cannot be classified again")
        reclassify(session, ticket, kind, app.pipeline, actor=actor(user))
        return N_("Now %(kind)s."), {"kind": kind}
    return _decide(request, reference, decide)


@router.get("/drafts/{draft_id}/attachments/{attachment_id}")
def attachment(request: Request, draft_id: int, attachment_id: int, user: Staff) -> Response:
    with bot_app(request).sessions() as session:
        found = session.get(DraftAttachment, attachment_id)
    if found is None or found.draft_id != draft_id:
        raise HTTPException(404, "No such attachment.")
    if not found.data:
        raise HTTPException(410, "This attachment was purged under retention.")
    # Always a download, never rendered in our origin (the HTML export is the requester's data).
    return Response(found.data, media_type=found.content_type,
                    headers={"Content-Disposition": f"attachment; filename*=utf-8''{quote(found.filename)}",
                             "Content-Security-Policy": "sandbox"})
