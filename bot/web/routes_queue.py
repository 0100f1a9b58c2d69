"""The queue of open tickets (/) and the quarantine of messages the bot could not handle."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.responses import Response

from bot.models import InboundMessage, StaffUser
from bot.web.queries import QueueFilter, quarantine_page, queue_page
from bot.web.render import render
from bot.web.security import bot_app, current_user

router = APIRouter()
Filter = Annotated[str, Query(max_length=40)]
SOURCE_LIMIT = 200_000   # bytes of a quarantined message shown on the page; the download has all


def _value(text: str) -> str | None:
    return text.strip() or None


@router.get("/")
def queue(request: Request, user: Annotated[StaffUser, Depends(current_user)], status: Filter = "open",
          kind: Filter = "", language: Filter = "", verification: Filter = "",
          q: Annotated[str, Query(max_length=320)] = "", page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    app = bot_app(request)
    filters = QueueFilter(status=None if status == "all" else _value(status), kind=_value(kind),
                          language=_value(language), verification=_value(verification), q=q.strip(), page=page)
    with app.sessions() as session:
        result = queue_page(session, app.settings, app.clock.now(), filters, request.app.state.web.page_size)
    return render(request, "queue.html", section="queue", page=result, filters=filters)


@router.get("/quarantine")
def quarantine(request: Request, user: Annotated[StaffUser, Depends(current_user)],
               page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    app = bot_app(request)
    with app.sessions() as session:
        rows, page, pages, total = quarantine_page(session, page, request.app.state.web.page_size)
    return render(request, "quarantine.html", section="quarantine", rows=rows, page=page, pages=pages, total=total)


def _quarantined(request: Request, message_id: int) -> InboundMessage:
    with bot_app(request).sessions() as session:
        found = session.get(InboundMessage, message_id)
    if found is None or found.status != "quarantined":
        raise HTTPException(404, f"No quarantined message {message_id}.")
    return found


@router.get("/quarantine/{message_id}")
def quarantined(request: Request, message_id: int, user: Annotated[StaffUser, Depends(current_user)]) -> Response:
    message = _quarantined(request, message_id)
    source = message.raw[:SOURCE_LIMIT].decode("utf-8", errors="replace")
    return render(request, "quarantined.html", section="quarantine", m=message, source=source,
                  truncated=len(message.raw) > SOURCE_LIMIT, shown=SOURCE_LIMIT, size=len(message.raw))


@router.get("/quarantine/{message_id}/raw")
def quarantined_raw(request: Request, message_id: int, user: Annotated[StaffUser, Depends(current_user)]) -> Response:
    message = _quarantined(request, message_id)
    if message.purged_at is not None:
        raise HTTPException(410, "This message was purged under retention.")
    return Response(message.raw, media_type="message/rfc822",
                    headers={"Content-Disposition": f'attachment; filename="quarantined-{message_id}.eml"'})
