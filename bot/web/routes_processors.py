"""Staff check a processor's answer to a deletion notice: confirm or correct how the rules read it."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session
from starlette.responses import Response

from bot.store import audit
from bot.store.models import StaffUser, Ticket
from bot.store.processor_models import STATES, ProcessorNotice
from bot.web.routes_ticket import _decide, actor
from bot.web.security import bot_app, staff_form

router = APIRouter()
StaffPost = Annotated[StaffUser, Depends(staff_form)]


@router.post("/tickets/{reference}/processors/{notice_id}/check")
def check_answer(request: Request, reference: str, notice_id: int, user: StaffPost,
                 state: Annotated[str, Form()]) -> Response:
    """Staff read the answer and confirm (or correct) its reading: confirmed, refused or question."""
    now = bot_app(request).clock.now()

    def decide(session: Session, ticket: Ticket) -> str:
        notice = session.get(ProcessorNotice, notice_id)
        if notice is None or notice.ticket_id != ticket.id:
            raise ValueError("no such processor notice on this ticket")
        if state not in STATES[1:4] or notice.answered_at is None:
            raise ValueError("only an answer can be checked, as confirmed, refused or question")
        was, notice.state, notice.checked_by, notice.checked_at = notice.state, state, actor(user), now
        session.add(notice)
        audit.record(session, now, "processor.checked", ticket_id=ticket.id, actor=actor(user), party=notice.party,
                     notice_id=notice.id, read_as=was, state=state)
        return f"{notice.party}: {state}, checked."

    return _decide(request, reference, decide)
