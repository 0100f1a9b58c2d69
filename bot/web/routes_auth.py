"""Logging in and out (/login, /logout) and the staff member's own choice of language (/me/language)."""
from __future__ import annotations

import logging
from typing import Annotated

from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from bot.store import audit
from bot.store.db import transaction
from bot.store.models import StaffUser
from bot.web.auth import authenticate, end_session, session_user, start_session
from bot.web.auth import UserError, set_language
from bot.web.login_limit import LoginAttempt, check_attempt, login_succeeded
from bot.web.render import render
from bot.web.security import bot_app, check_csrf, safe_next, staff_form

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    app = bot_app(request)
    token = request.session.get("sid")
    if token:
        with app.sessions() as session:
            if session_user(session, token, app.clock.now()) is not None:
                return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next), email="", error="")


@router.post("/login")
def login(request: Request, email: Annotated[str, Form(max_length=320)] = "",
          password: Annotated[str, Form(max_length=1024)] = "",
          next: Annotated[str, Form()] = "/", csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    app = bot_app(request)
    web = request.app.state.web
    attempt = LoginAttempt(email.strip().lower(), request.client.host if request.client else "")
    refusal = check_attempt(app.sessions, app.clock.now(), attempt, web)
    if refusal is not None:   # the password is not even checked
        page = render(request, "login.html", status_code=429, next=safe_next(next), email=email.strip(),
                      error=refusal.message)
        page.headers["Retry-After"] = str(refusal.retry_after)
        return page
    with transaction(app.sessions) as session:
        user = authenticate(session, email, password)
        if user is not None:
            login_succeeded(session, attempt)
            token = start_session(session, user, now=app.clock.now(), hours=web.session_hours)
            audit.record(session, app.clock.now(), "staff.login", actor=f"staff:{user.email}")
    if user is None:
        log.info("failed staff login")
        return render(request, "login.html", status_code=401, next=safe_next(next), email=email.strip(),
                      error="Wrong email or password, or the account is disabled.")
    request.session.clear()  # a fresh session: new CSRF token, nothing carried over from before login
    request.session["sid"] = token
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, user: Annotated[StaffUser, Depends(staff_form)]) -> Response:
    app = bot_app(request)
    with transaction(app.sessions) as session:
        end_session(session, request.session.get("sid", ""))
        audit.record(session, app.clock.now(), "staff.logout", actor=f"staff:{user.email}")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/me/language")
def choose_language(request: Request, user: Annotated[StaffUser, Depends(staff_form)],
                    language: Annotated[str, Form(max_length=8)] = "") -> Response:
    """The console's language for this staff member, kept on their account."""
    app = bot_app(request)
    try:
        with transaction(app.sessions) as session:
            set_language(session, user.email, language)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    back = request.headers.get("referer", "/")
    return RedirectResponse(safe_next(urlsplit(back).path + (f"?{urlsplit(back).query}" if urlsplit(back).query
                                                             else "")), status_code=303)
