"""The queue of tickets still on the clock (/) and the quarantine of messages the bot could not handle: release or dismiss."""
from __future__ import annotations

from datetime import timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from sqlmodel import select
from starlette.responses import Response

from bot.store.db import transaction
from bot.store.models import InboundMessage, StaffUser
from bot.intake.release import REASON_LIMIT, ActionRefused, dismiss, refusal_for, release
from bot.sla.calendar import day_start, local_day
from bot.web.queries import ON_THE_CLOCK, QueueFilter, quarantine_page, queue_page
from bot.web.search import FLAGS
from bot.web.readable import N_
from bot.web.render import render
from bot.web.security import bot_app, current_user, flash, staff_form

router = APIRouter()
Filter = Annotated[str, Query(max_length=40)]
SOURCE_LIMIT = 200_000   # bytes of a quarantined message shown on the page; the download has all
StaffPost = Annotated[StaffUser, Depends(staff_form)]
DONE = {"new-ticket": N_("Message %(id)s released: it opened ticket %(ticket)s."),
        "follow-up": N_("Message %(id)s released: it joined ticket %(ticket)s."),
        "machine-mail": N_("Message %(id)s released: it is machine mail: stored, not answered."),
        "stored": N_("Message %(id)s released: it is stored."),
        "duplicate": N_("Message %(id)s released: the same message was already stored, so nothing more was done.")}


def _value(text: str) -> str | None:
    return text.strip() or None


@router.get("/")
def queue(request: Request, user: Annotated[StaffUser, Depends(current_user)], status: Filter = "",
          kind: Filter = "", language: Filter = "", verification: Filter = "",
          q: Annotated[str, Query(max_length=320)] = "", page: Annotated[int, Query(ge=1, le=100_000)] = 1,
          only: Annotated[list[str], Query(max_length=len(FLAGS))] = []) -> Response:  # noqa: B006 - FastAPI's idiom
    app = bot_app(request)
    # A search looks through every status unless one is chosen; the everyday queue is every ticket on the clock.
    status = status or ("all" if q.strip() else ON_THE_CLOCK)
    today = day_start(local_day(app.clock.now(), app.settings.sla), app.settings.sla).astimezone(timezone.utc)
    filters = QueueFilter(status=None if status == "all" else _value(status), kind=_value(kind),
                          language=_value(language), verification=_value(verification), q=q.strip(), page=page,
                          flags=tuple(f for f in FLAGS if f in only), staff=user.email, today_starts=today)
    with app.sessions() as session:
        result = queue_page(session, app.settings, app.clock.now(), filters, request.app.state.web.page_size)
    return render(request, "queue.html", section="queue", page=result, filters=filters, flags=FLAGS,
                  everyday=ON_THE_CLOCK)


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
    refusal = refusal_for(message, bot_app(request).settings.imap.max_message_bytes)
    return render(request, "quarantined.html", section="quarantine", m=message, source=source,
                  truncated=len(message.raw) > SOURCE_LIMIT, shown=SOURCE_LIMIT, total_size=len(message.raw),
                  release_refusal=refusal, reason_limit=REASON_LIMIT)


@router.get("/quarantine/{message_id}/raw")
def quarantined_raw(request: Request, message_id: int, user: Annotated[StaffUser, Depends(current_user)]) -> Response:
    message = _quarantined(request, message_id)
    if message.purged_at is not None:
        raise HTTPException(410, "This message was purged under retention.")
    return Response(message.raw, media_type="message/rfc822",
                    headers={"Content-Disposition": f'attachment; filename="quarantined-{message_id}.eml"'})


def _back(request: Request, message_id: int) -> Response:
    """To the message's page while it is still quarantined, else to the list."""
    with bot_app(request).sessions() as session:
        status = session.exec(select(InboundMessage.status).where(InboundMessage.id == message_id)).first()
    return RedirectResponse(f"/quarantine/{message_id}" if status == "quarantined" else "/quarantine", status_code=303)


@router.post("/quarantine/{message_id}/release")
def release_message(request: Request, message_id: int, user: StaffPost) -> Response:
    try:
        result = release(bot_app(request).pipeline, message_id, actor=f"staff:{user.email}")
    except ActionRefused as exc:
        flash(request, "error", str(exc))
        return _back(request, message_id)
    if result.outcome == "quarantined":
        flash(request, "error", N_("Message %(id)s failed again and stays in the quarantine: %(why)s"), id=message_id,
              why=result.reason)
        return _back(request, message_id)
    flash(request, "ok", DONE[result.outcome], id=message_id, ticket=result.ticket or "")
    return RedirectResponse("/quarantine", status_code=303)


@router.post("/quarantine/{message_id}/dismiss")
def dismiss_message(request: Request, message_id: int, user: StaffPost,
                    reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    app = bot_app(request)
    try:
        with transaction(app.sessions) as session:
            dismiss(session, message_id, reason=reason, actor=f"staff:{user.email}", now=app.clock.now())
    except ActionRefused as exc:
        flash(request, "error", str(exc))
        return _back(request, message_id)
    flash(request, "ok", N_("Message %(id)s dismissed; its copy is kept until the retention rule purges it."), id=message_id)
    return RedirectResponse("/quarantine", status_code=303)
