"""Static files of the dashboard (CSS, JavaScript modules) and plotly.js from the plotly package.

No build step and no CDN: plotly's Python package ships the minified plotly.js, which is served
from here. Pages link the files under a fingerprinted prefix, ``/ui/static/<version>/...``, where
``version`` hashes every static file's content and plotly's version: those answers are cached
``immutable`` for a year, so a warm page load asks nothing, and any change gives new URLs. The
JavaScript modules import each other by relative paths, so the prefix carries through every import.
Unprefixed ``/ui/static/...`` still works (revalidated each time: the favicon, old links). Files
are gzipped once in memory when the browser accepts it (plotly.js: 4.8 MB raw, 1.4 MB gzipped).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import posixpath
import re
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path, PurePosixPath

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


_fingerprint: tuple[tuple, str] | None = None


def version() -> str:
    """A short fingerprint of the static files' content (and plotly's version), for asset URLs.

    Recomputed only when a file's mtime or size changed, so an edit in development gets new URLs.
    """
    global _fingerprint
    files = sorted(path for path in STATIC.rglob("*") if path.is_file())
    stamps = tuple((str(path), path.stat().st_mtime_ns, path.stat().st_size) for path in files)
    if _fingerprint is None or _fingerprint[0] != stamps:
        digest = hashlib.sha1(_plotly_version().encode())
        for path in files:
            digest.update(str(path.relative_to(STATIC)).encode() + b"\0" + path.read_bytes())
        _fingerprint = (stamps, digest.hexdigest()[:12])
    return _fingerprint[1]


@lru_cache(maxsize=1)
def _plotly_version() -> str:
    from importlib.metadata import version as package_version

    return package_version("plotly")


_IMPORT = re.compile(r"""^\s*(?:import|export)\b[^;'"]*?\bfrom\s*["'](\.{1,2}/[^"']+)["']|^\s*import\s*["'](\.{1,2}/[^"']+)["']""", re.M)


def module_graph(entry: str) -> list[str]:
    """Every module ``entry`` (``js/pages/x.js``) imports, directly or not, itself first, as paths
    under static/: a page links them all as ``modulepreload``, so the browser fetches them at once
    instead of one level of imports after another."""
    return list(_module_graph(entry, version()))


@lru_cache(maxsize=64)
def _module_graph(entry: str, _version: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    todo = [entry]
    while todo:
        relative = todo.pop(0)
        path = STATIC / relative
        if relative in seen or not path.is_file():
            continue
        seen[relative] = None
        for match in _IMPORT.finditer(path.read_text(encoding="utf-8")):
            target = (PurePosixPath(relative).parent / (match.group(1) or match.group(2))).as_posix()
            todo.append(posixpath.normpath(target))
    return tuple(seen)


IMMUTABLE = "public, max-age=31536000, immutable"


@router.get("/ui/static/{relative:path}")
def static_file(relative: str, request: Request) -> Response:
    """A static file; public (no token), as it holds no data."""
    head, _, rest = relative.partition("/")
    prefixed = len(head) == 12 and all(c in "0123456789abcdef" for c in head) and bool(rest)
    # Another fingerprint is a page from before an upgrade: it gets today's file, revalidated.
    fingerprinted = prefixed and head == version()
    asset = _asset(_resolve(rest if prefixed else relative))
    # Fingerprinted URLs never change content; others are revalidated (a 304) on every use.
    headers = {"ETag": asset.etag, "Cache-Control": IMMUTABLE if fingerprinted else "no-cache",
               "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding"}
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
