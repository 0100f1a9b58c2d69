"""serve_web: listens on loopback inside the caller's event loop and stops when told."""
from __future__ import annotations

import asyncio
import socket

import httpx2 as httpx
import pytest

from bot.web.serve import serve_web
from bot.config.web import WebSettings
from tests.unit.web.test_web_helpers import bot, fast_hashes  # noqa: F401


def test_serves_until_the_stop_event(bot):
    async def scenario() -> tuple[int, str]:
        stop, port = asyncio.Event(), asyncio.Future()
        server = asyncio.create_task(serve_web(bot, stop, web=WebSettings(port=0), ready=port.set_result))
        bound = await asyncio.wait_for(port, 10)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bound}") as client:
            login = await client.get("/login")
            queue = await client.get("/", follow_redirects=False)
        stop.set()
        await asyncio.wait_for(server, 10)
        return login.status_code, queue.headers["location"]

    assert asyncio.run(scenario()) == (200, "/login?next=%2F")


def test_a_taken_port_is_an_error_not_an_exit(bot):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            asyncio.run(serve_web(bot, asyncio.Event(), web=WebSettings(port=port)))
