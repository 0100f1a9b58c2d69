"""Serving the console with uvicorn inside the caller's event loop, until the caller's stop event."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator

import uvicorn

from bot.service.app import App
from bot.web.app import create_web_app
from bot.config.web import WebSettings, web_settings

log = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the caller owns SIGINT/SIGTERM and tells us through `stop`


def _listen(host: str, port: int) -> socket.socket:
    """Bound here rather than by uvicorn, so a taken port is an OSError, not a process exit."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    return socket.create_server((host, port), family=family)


async def serve_web(app: App, stop: asyncio.Event, *, web: WebSettings | None = None,
                    ready: Callable[[int], None] | None = None) -> None:
    """Serve until `stop` is set; `ready` is told the bound port (useful with port 0)."""
    web = web or web_settings(app.settings)
    api = await asyncio.to_thread(create_web_app, app, web)
    sock = _listen(web.host, web.port)
    config = uvicorn.Config(api, log_config=None, access_log=False, lifespan="off", proxy_headers=bool(web.forwarded_allow_ips.strip()),
                            forwarded_allow_ips=web.forwarded_allow_ips, timeout_graceful_shutdown=5)
    server = _EmbeddedServer(config)

    async def stop_when_told() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(stop_when_told())
    port = sock.getsockname()[1]
    log.info("staff console on http://%s:%d/ (secure cookies: %s)", web.host, port, web.secure_cookies)
    if ready is not None:
        ready(port)
    try:
        await server.serve(sockets=[sock])
    finally:
        watcher.cancel()
        sock.close()
