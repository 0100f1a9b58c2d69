"""Staff deciding who a requester is: verify or refuse by hand (an account they looked up), or a fresh code."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session
from starlette.responses import Response

from bot.store.models import StaffUser, Ticket
from bot.verify import challenges, flow
from bot.web.readable import N_
from bot.web.routes_ticket import Text, _decide, actor
from bot.web.security import bot_app, staff_form

router = APIRouter()
StaffPost = Annotated[StaffUser, Depends(staff_form)]


@router.post("/tickets/{reference}/verify")
def verify_ticket(request: Request, reference: str, user: StaffPost, decision: Annotated[str, Form()] = "",
                  reason: Text = "", account: Annotated[str, Form(max_length=200)] = "") -> Response:
    app = bot_app(request)

    def decide(session: Session, ticket: Ticket) -> str:
        if decision not in ("verify", "refuse"):
            raise ValueError("choose verify or refuse")
        if account.strip() and account.strip() != ticket.account_id:
            if app.accounts(session).get(account.strip()) is None:
                raise ValueError(f"no account {account.strip()}")
            ticket.account_id = account.strip()   # the account staff matched, as `verify --account`
        flow.decide_manually(session, ticket, app.pipeline, actor=actor(user), reason=reason,
                             refuse=decision == "refuse")
        return N_("Requester verified.") if ticket.verification == "verified" else N_("Requester refused.")
    return _decide(request, reference, decide)


@router.post("/tickets/{reference}/resend-code")
def resend_code(request: Request, reference: str, user: StaffPost) -> Response:
    app = bot_app(request)

    def decide(session: Session, ticket: Ticket) -> str:
        found = app.accounts(session).get(ticket.account_id) if ticket.account_id else None
        if found is None:
            raise ValueError("the ticket has no matched account: verify it manually with an account ID first")
        challenge = challenges.issue_challenge(session, ticket, found, app.pipeline, actor=actor(user))
        if challenge is None:  # recorded in the audit trail by issue_challenge
            return N_("No code could be sent: the account has no registered address and no SMS sender. Decide manually.")
        return (N_("A fresh code is on its way by SMS.") if challenge.channel == "sms" else
                N_("A fresh code is on its way by email."))
    return _decide(request, reference, decide)
