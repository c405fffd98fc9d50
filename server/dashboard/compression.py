"""Gzip for the dashboard's JSON and CSV answers (``/ui/data/...``), and nothing else.

The 1,000-run project table is 655 kB of JSON and about 180 kB gzipped. The REST API is left
alone: the ``picsellia`` SDK streams its downloads raw and must get the bytes as stored. Static
files are gzipped once in memory by ``assets`` and pass through (already encoded).

The deflate is ISA-L's (``isal``), not zlib's: the same gzip format for every client, about five
times faster at the same level and a little smaller. A chart's answer (250 kB of JSON) took 3.2 ms
to compress with zlib, and the live dashboard polls it; with ISA-L it takes 0.6 ms.
"""

from __future__ import annotations

from isal import isal_zlib
from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipResponder, IdentityResponder
from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/ui/data/"
MINIMUM_SIZE = 1024  # smaller answers go as they are
LEVEL = 1  # the fastest; JSON still shrinks 3-6x, and a chart's answer is not delayed by it


class DashboardGZip:
    """ASGI middleware: gzip (through ISA-L) on the dashboard's data routes, for clients that accept it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        if "gzip" in Headers(scope=scope).get("Accept-Encoding", ""):
            await _IsalGZipResponder(self.app, MINIMUM_SIZE, compresslevel=LEVEL)(scope, receive, send)
        else:  # still says Vary: Accept-Encoding, so a cache does not serve this answer to a gzip client
            await IdentityResponder(self.app, MINIMUM_SIZE)(scope, receive, send)


class _IsalGZipResponder(GZipResponder):
    """Starlette's gzip responder (headers, streaming, its thread for large bodies) with ISA-L's deflate."""

    @property
    def compressor(self):
        if self._compressor is None:
            self._compressor = isal_zlib.compressobj(self.compresslevel, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS)
        return self._compressor
