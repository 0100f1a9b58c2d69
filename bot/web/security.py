"""Request guards: the logged-in staff member, the CSRF token of every form, safe response headers."""
from __future__ import annotations

import secrets

from fastapi import HTTPException, Request
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from bot.service.app import App
from bot.store.db import transaction
from bot.store.models import StaffUser
from bot.web.auth import session_user
from bot.store.console_models import WebSecret
from bot.config.web import WebSettings

SECRET_NAME = "session-cookie-key"
HEADERS = {
    # No script at all, no framing, forms only to ourselves: the pages show personal data.
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class LoginRequired(Exception):
    """No live session: the handler sends the browser to /login, then back to `next_path`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def bot_app(request: Request) -> App:
    return request.app.state.bot


def secret_key(app: App, web: WebSettings) -> str:
    """The configured key, or the one generated on first use and kept in the database."""
    if web.secret_key:
        return web.secret_key
    for _attempt in range(2):
        try:
            with transaction(app.sessions) as session:
                row = session.get(WebSecret, SECRET_NAME)
                if row is not None:
                    return row.value
                value = secrets.token_urlsafe(48)
                session.add(WebSecret(name=SECRET_NAME, value=value, created_at=app.clock.now()))
            return value
        except IntegrityError:
            continue  # another process stored one at the same moment: read theirs
    raise RuntimeError("could not store the generated web secret key")


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def current_user(request: Request) -> StaffUser:
    """Dependency for every page: the user of a live session, or LoginRequired."""
    token = request.session.get("sid")
    if token:
        app = bot_app(request)
        with app.sessions() as session:
            user = session_user(session, token, app.clock.now())
        if user is not None:
            request.state.user = user
            return user
        request.session.pop("sid", None)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise LoginRequired(here if request.method == "GET" else "/")


def check_csrf(request: Request, sent: object) -> None:
    expected = request.session.get("csrf", "")
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(403, "The form's security token is missing or out of date: reload the page and try again.")


async def staff_form(request: Request) -> StaffUser:
    """Dependency for every POST: login first (redirect), then the form's CSRF token (403)."""
    user = await run_in_threadpool(current_user, request)
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    return user


def flash(request: Request, level: str, text: str, *, prefix: str = "", **values: object) -> None:
    """A message for the next page: `text` is a catalogue message ("%(name)s" for `values`), shown
    in the staff member's language after `prefix` (a reference, say, never translated)."""
    entry = [level, text, {k: str(v) for k, v in values.items()}, prefix]
    request.session["flash"] = [*request.session.get("flash", []), entry]


def pop_flashes(request: Request) -> list[list[str]]:
    return request.session.pop("flash", [])


def safe_next(value: str | None) -> str:
    """Only a path on this site: never '//host' or 'https://...', which would leave it."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"
