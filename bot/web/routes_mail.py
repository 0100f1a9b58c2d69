"""Undelivered mail (/mail/failed): what the outbox gave up on, with a retry button for each and for all."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from bot.store.db import transaction
from bot.store.models import StaffUser
from bot.outbox.sms import shown_recipient
from bot.web.readable import N_
from bot.web.render import render
from bot.web.security import bot_app, current_user, flash, staff_form
from bot.web.undelivered import RetryRefused, failed_page, requeue, requeue_all

router = APIRouter()


@router.get("/mail/failed")
def failed_mail(request: Request, user: Annotated[StaffUser, Depends(current_user)],
                page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    app = bot_app(request)
    with app.sessions() as session:
        rows, page, pages, total = failed_page(session, page, request.app.state.web.page_size)
    return render(request, "failed_mail.html", section="failed", rows=rows, page=page, pages=pages, total=total,
                  max_attempts=app.settings.smtp.max_attempts)


@router.post("/mail/{outbox_id}/retry")
def retry_mail(request: Request, outbox_id: int, user: Annotated[StaffUser, Depends(staff_form)]) -> Response:
    app = bot_app(request)
    try:
        with transaction(app.sessions) as session:
            row = requeue(session, outbox_id, actor=f"staff:{user.email}", now=app.clock.now())
            to = shown_recipient(row.kind, row.to_address)
    except RetryRefused as exc:
        flash(request, "error", str(exc))
    else:
        flash(request, "ok", N_("Mail %(id)s to %(to)s is back in the queue; it is sent within a minute."), id=outbox_id, to=to)
    return RedirectResponse("/mail/failed", status_code=303)


@router.post("/mail/retry-all")
def retry_all(request: Request, user: Annotated[StaffUser, Depends(staff_form)]) -> Response:
    app = bot_app(request)
    with transaction(app.sessions) as session:
        done, left = requeue_all(session, actor=f"staff:{user.email}", now=app.clock.now())
    flash(request, "ok" if done or not left else "error",
          N_("%(num)s undelivered mails back in the queue; they are sent within a minute."), num=done)
    if left:
        flash(request, "error", N_("%(num)s could not be retried: their copies were purged under retention."), num=left)
    return RedirectResponse("/mail/failed", status_code=303)
