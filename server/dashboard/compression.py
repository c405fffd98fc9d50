"""Gzip for the dashboard's JSON and CSV answers (``/ui/data/...``), and nothing else.

The 1,000-run project table is 655 kB of JSON and about 180 kB gzipped. The REST API is left
alone: the ``picsellia`` SDK streams its downloads raw and must get the bytes as stored. Static
files are gzipped once in memory by ``assets`` and pass through (already encoded).
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/ui/data/"


class DashboardGZip:
    """ASGI middleware: Starlette's GZipMiddleware on the dashboard's data routes only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Level 1: the fastest; JSON still shrinks 3-6x, and a chart's answer is not delayed by it.
        self.gzip = GZipMiddleware(app, minimum_size=1024, compresslevel=1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)
