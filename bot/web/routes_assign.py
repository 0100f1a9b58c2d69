"""Who owns a ticket: assign it to an active staff account, or back to the shared list."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session
from starlette.responses import Response

from bot.store.models import StaffUser, Ticket
from bot.sla.clock_rules import assign, staff_assignee
from bot.web.readable import N_
from bot.web.routes_ticket import _decide, actor
from bot.web.security import bot_app, staff_form

router = APIRouter()
StaffPost = Annotated[StaffUser, Depends(staff_form)]


@router.post("/tickets/{reference}/assign")
def assign_ticket(request: Request, reference: str, user: StaffPost,
                  assignee: Annotated[str, Form(max_length=320)] = "") -> Response:
    app = bot_app(request)

    def decide(session: Session, ticket: Ticket) -> str:
        row = assign(session, ticket, staff_assignee(session, assignee), app.clock.now(), actor=actor(user))
        return (N_("Assigned to %(who)s."), {"who": row.assignee}) if row.assignee else N_("Unassigned: back on the shared list.")
    return _decide(request, reference, decide)
