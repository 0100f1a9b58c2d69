"""For machines, without a login: /healthz (is the bot well) and /metrics (Prometheus)."""
from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from bot.service.health import health
from bot.web.metrics import render_metrics
from bot.web.security import bot_app

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request) -> Response:
    """200 when every check passes, 503 naming the failing ones; counts and names only, no personal data."""
    app, web = bot_app(request), request.app.state.web
    stale = max(web.watcher_stale_seconds, 3 * app.settings.imap.poll_seconds)
    ok, checks = await run_in_threadpool(health, app.engine, request.app.state.liveness, app.clock.now(), stale)
    body = {"status": "ok" if ok else "failing", "failing": [c.name for c in checks if not c.ok],
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks}}
    return JSONResponse(body, status_code=200 if ok else 503)


def _authorised(request: Request, token: str) -> bool:
    if not token:
        return True
    sent = request.headers.get("authorization", "")
    scheme, _, value = sent.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(value.strip().encode(), token.encode())


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    if not _authorised(request, request.app.state.web.metrics_token):
        return Response("a bearer token is required\n", status_code=401, media_type="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    try:
        payload = await run_in_threadpool(render_metrics, request.app.state.metrics)
    except SQLAlchemyError as exc:   # the database is away: say so rather than report zeros
        return Response(f"database unavailable ({type(exc).__name__})\n", status_code=503, media_type="text/plain")
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
