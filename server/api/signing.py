"""Signed, expiring upload and download URLs (the picsellia SDK sends no token to them).

A URL carries ``expires``, ``by`` (the token that asked for it) and an HMAC-SHA256 ``signature``
over the action, its subject (an object name or a blob digest) and its other parameters, keyed by
the server's signing key. The server checks it before reading any request body, and refuses it
once the token ``by`` is revoked or expired. An upload URL works once (see ``uploads``).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from trackboard.store.sql import Store

from ..auth import principal_of, token_is_active

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
    principal = principal_of(request) if request.app.state.require_token else None
    query["by"] = principal.name if principal is not None else ""
    query["signature"] = _signature(_key(request, store), action, query)
    return f"{str(request.base_url).rstrip('/')}{path}?{urlencode(query)}"


def sign(request: Request, store: Store, action: str, **params: str | int) -> str:
    """The signature of ``params`` for ``action`` (for an id the server hands out and later checks)."""
    return _signature(_key(request, store), action, {name: str(value) for name, value in params.items()})


def is_signed(request: Request, store: Store, action: str, signature: str, **params: str | int) -> bool:
    """Whether ``signature`` is ``sign(...)`` of these params."""
    return hmac.compare_digest(sign(request, store, action, **params).encode(),
                               signature.encode("utf-8", "surrogatepass"))


async def verify(request: Request, store: Store, action: str, signature: str, **params: str | int) -> None:
    """403 unless ``signature`` signs these params (``expires`` and ``by`` among them) for ``action``,
    ``expires`` has not passed and the token ``by`` is still active."""
    query = {name: str(value) for name, value in params.items()}
    key = await run_in_threadpool(_key, request, store)
    expected = _signature(key, action, query)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "surrogatepass")):
        raise ApiError(403, "bad signature")
    if int(query["expires"]) < time.time():
        raise ApiError(403, "this URL has expired; ask for a new one")
    if request.app.state.require_token and not await run_in_threadpool(token_is_active, store, query["by"]):
        raise ApiError(403, "the token that asked for this URL is revoked or expired")
