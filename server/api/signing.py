"""Signed, expiring upload and download URLs (the picsellia SDK sends no token to them).

A URL carries ``expires`` and an HMAC-SHA256 ``signature`` over the action, its subject (an
object name or a blob digest) and its other parameters, keyed by the server's signing key. The
server checks it before reading any request body.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

from fastapi import Request

from trackboard.store.sql import Store

from . import queries
from .errors import ApiError

UPLOAD_TTL_S = 3600
DOWNLOAD_TTL_S = 3600


def _key(request: Request, store: Store) -> bytes:
    # Read from the store once per worker; every worker of a store gets the same key.
    key = getattr(request.app.state, "url_signing_key", None)
    if key is None:
        key = request.app.state.url_signing_key = queries.signing_key(store)
    return key


def _signature(key: bytes, action: str, params: dict[str, str]) -> str:
    message = "\n".join([action, *(f"{name}={params[name]}" for name in sorted(params))])
    return hmac.new(key, message.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def signed_url(request: Request, store: Store, path: str, action: str, ttl_s: int, **params: str | int) -> str:
    """An absolute URL to ``path`` on this server whose query is signed for ``action``."""
    query = {name: str(value) for name, value in params.items()}
    query["expires"] = str(int(time.time()) + ttl_s)
    query["signature"] = _signature(_key(request, store), action, query)
    return f"{str(request.base_url).rstrip('/')}{path}?{urlencode(query)}"


def verify(request: Request, store: Store, action: str, signature: str, **params: str | int) -> None:
    """403 unless ``signature`` signs these params for ``action`` and ``expires`` has not passed."""
    query = {name: str(value) for name, value in params.items()}
    expected = _signature(_key(request, store), action, query)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "surrogatepass")):
        raise ApiError(403, "bad signature")
    if int(query["expires"]) < time.time():
        raise ApiError(403, "this URL has expired; ask for a new one")
