"""Serving until Ctrl-C or SIGTERM: for `run` and `web` only, so other commands never import asyncio."""
from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable


def run_until_signal(serve: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `serve(stop)` in a new event loop; SIGINT and SIGTERM set `stop`, for it to finish cleanly."""
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(stop)

    asyncio.run(main())
