"""Static files of the dashboard (CSS, JavaScript modules) and plotly.js from the plotly package.

No build step and no CDN: plotly's Python package ships the minified plotly.js, which is served
from here. Files are answered with an ETag (a reload costs a 304) and gzipped once in memory when
the browser accepts it (plotly.js is 4.8 MB raw, 1.4 MB gzipped, which matters on a team server).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

STATIC = Path(__file__).parent / "static"
PLOTLY = "vendor/plotly.min.js"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}

router = APIRouter(include_in_schema=False)


def plotly_path() -> Path:
    """The plotly.min.js bundled in the installed plotly package."""
    path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():  # pragma: no cover - a broken plotly install
        raise RuntimeError("plotly.min.js is missing from the plotly package; reinstall 'trackboard[server]'")
    return path


def _resolve(relative: str) -> Path:
    if relative == PLOTLY:
        return plotly_path()
    if "\x00" in relative:  # no file has such a name (and the OS would refuse it)
        raise HTTPException(status_code=404, detail="no such file")
    path = (STATIC / relative).resolve()
    # Only files inside static/ are served, whatever dots or links the request holds.
    if not path.is_relative_to(STATIC.resolve()) or not path.is_file():
        raise HTTPException(status_code=404, detail="no such file")
    return path


class _Asset:
    """A file's bytes, ETag and gzipped bytes, reread when the file changes (edits in development)."""

    def __init__(self, path: Path) -> None:
        stat = path.stat()
        self.stamp = (stat.st_mtime_ns, stat.st_size)
        self.body = path.read_bytes()
        self.etag = '"' + hashlib.sha1(self.body).hexdigest()[:20] + '"'
        self.content_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._gzipped: bytes | None = None
        self._lock = threading.Lock()

    def gzipped(self) -> bytes:
        with self._lock:
            if self._gzipped is None:
                self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
            return self._gzipped


_assets: dict[Path, _Asset] = {}
_assets_lock = threading.Lock()


def _asset(path: Path) -> _Asset:
    stat = path.stat()
    with _assets_lock:
        asset = _assets.get(path)
        if asset is None or asset.stamp != (stat.st_mtime_ns, stat.st_size):
            asset = _assets[path] = _Asset(path)
        return asset


@lru_cache(maxsize=1)
def version() -> str:
    """A short fingerprint of the static files, appended to the page's asset URLs."""
    digest = hashlib.sha1()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(STATIC)}:{stat.st_mtime_ns}:{stat.st_size}".encode())
    return digest.hexdigest()[:10]


@router.get("/ui/static/{relative:path}")
def static_file(relative: str, request: Request) -> Response:
    """A static file; public (no token), as it holds no data."""
    asset = _asset(_resolve(relative))
    # no-cache = "revalidate every time": a page load costs 304s, and an upgrade is never stale.
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
               "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if len(asset.body) > 1024 and "gzip" in request.headers.get("accept-encoding", ""):
        return Response(asset.gzipped(), media_type=asset.content_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(asset.body, media_type=asset.content_type, headers=headers)


def warm() -> None:
    """Read and gzip plotly.js in the background, so the first page load does not wait for it."""

    def work() -> None:
        try:
            _asset(plotly_path()).gzipped()
        except Exception:  # pragma: no cover - the request path reports the problem instead
            pass

    threading.Thread(target=work, name="trackboard-assets", daemon=True).start()
