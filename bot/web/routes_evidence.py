"""The ticket page's evidence pack download: the same ZIP as `supportbot tickets evidence`."""
from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.responses import Response

from bot.store import audit
from bot.store.db import transaction
from bot.tickets.evidence.pack import write_pack
from bot.store.models import StaffUser
from bot.web.security import bot_app, current_user
from bot.web.ticket_view import find_ticket

router = APIRouter()
Staff = Annotated[StaffUser, Depends(current_user)]


@router.get("/tickets/{reference}/evidence.zip")
def evidence_pack(request: Request, reference: str, user: Staff) -> Response:
    app = bot_app(request)
    buffer = io.BytesIO()
    with transaction(app.sessions) as session:
        ticket = find_ticket(session, reference)
        if ticket is None:
            raise HTTPException(404, f"No ticket {reference}.")
        now = app.clock.now()
        facts = write_pack(session, app.settings, ticket, buffer, now)
        # Who took a copy of this person's data, and which chain head it showed.
        audit.record(session, now, "evidence.exported", ticket_id=ticket.id, actor=f"staff:{user.email}",
                     chain_head=facts.chain_head, rows=len(facts.audit))
    return Response(buffer.getvalue(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{ticket.reference}-evidence.zip"'})
