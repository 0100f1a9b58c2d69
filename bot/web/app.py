"""The staff console's FastAPI application: sessions, guards, error pages and the routes."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response

from bot.service.app import App
from bot.service.health import WATCHER, WatcherLiveness
from bot.web.metrics import DatabaseCollector, metrics_registry
from bot.web import (routes_auth, routes_evidence, routes_mail, routes_ops, routes_processors, routes_queue,
                     routes_ticket, routes_assign, routes_verify)
from bot.web.render import STATIC_DIR, render
from bot.web.security import HEADERS, LoginRequired, secret_key
from bot.config.web import WebSettings, web_settings

TITLES = {403: "Not allowed", 404: "Not found", 405: "Not allowed", 410: "Gone", 422: "Not understood"}


def create_web_app(app: App, web: WebSettings | None = None, *, liveness: WatcherLiveness = WATCHER) -> FastAPI:
    """The console for `app`; `web` defaults to app.settings.web (or the defaults).

    `liveness` is this process's mailbox watcher, which /healthz and /metrics report on."""
    web = web or web_settings(app.settings)
    api = FastAPI(title="supportbot staff console", docs_url=None, redoc_url=None, openapi_url=None)
    api.state.bot, api.state.web, api.state.liveness = app, web, liveness
    api.state.metrics = metrics_registry(DatabaseCollector(app.sessions, app.settings, app.clock.now, liveness))
    # "__Host-" cookies are refused by browsers unless Secure, for this host only, on path /.
    api.add_middleware(SessionMiddleware, secret_key=secret_key(app, web),
                       session_cookie="__Host-supportbot" if web.secure_cookies else "supportbot_session",
                       max_age=web.session_hours * 3600, same_site="lax", https_only=web.secure_cookies)

    @api.middleware("http")
    async def security_headers(request: Request, call_next) -> Response:
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"   # pages hold personal data
        return response

    @api.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='')}", status_code=303)

    @api.exception_handler(StarletteHTTPException)
    async def error_page(request: Request, exc: StarletteHTTPException) -> Response:
        return render(request, "error.html", status_code=exc.status_code, title=TITLES.get(exc.status_code, "Error"),
                      message=exc.detail)

    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (routes_ops, routes_auth, routes_queue, routes_mail, routes_ticket, routes_assign, routes_verify,
                   routes_evidence, routes_processors):
        api.include_router(module.router)
    return api
