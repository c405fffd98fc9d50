"""At most one log append at a time per worker, so that a dashboard read never queues behind many.

A worker's event loop reads and validates request bodies, and its thread pool runs the routes: with
every client's batch in flight at once, a read shares the loop and the GIL with all of them (and on
SQLite the appends only wait for each other's write lock anyway). Appends past the limit wait here
before their body is read (it stays in the socket), which costs no CPU; clients send from a
background writer, so training does not wait for it.
"""

from __future__ import annotations

import asyncio
import re

APPENDS_PER_WORKER = 1
# The routes that write points: trackboard's batches, and the picsellia SDK's log create / append.
_APPENDS = re.compile(r"^/api/(trackboard/batches|log/[^/]+/append|experiment/[^/]+/logs)/?$")


class AppendLimit:
    """ASGI middleware holding appends to ``limit`` at a time in this process."""

    def __init__(self, app, limit: int = APPENDS_PER_WORKER) -> None:
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None  # made in the worker's own event loop

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _APPENDS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)
