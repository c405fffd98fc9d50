"""API tokens: created by ``trackboard token create``, stored hashed, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import sqlalchemy as sa
from fastapi import HTTPException, Request

from trackboard.errors import AlreadyExistsError, NotFoundError
from trackboard.store import schema as t
from trackboard.store.engine import read_transaction, write_transaction
from trackboard.store.sql import Store

TOKEN_PREFIX = "tb_"
COOKIE = "trackboard_token"  # the dashboard's sign-in keeps the token in this cookie


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: Store, name: str) -> str:
    """A new token called ``name``; only its hash is stored, so it is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with write_transaction(store.engine) as conn:
            conn.execute(t.tokens.insert().values(name=name, token_hash=_hash(token), created_at=time.time()))
    except sa.exc.IntegrityError:
        raise AlreadyExistsError(f"a token named {name!r} already exists") from None
    return token


def list_tokens(store: Store) -> list[dict]:
    with read_transaction(store.engine) as conn:
        rows = conn.execute(sa.select(t.tokens.c.name, t.tokens.c.created_at, t.tokens.c.revoked_at).order_by(t.tokens.c.created_at))
        return [dict(row._mapping) for row in rows]


def revoke_token(store: Store, name: str) -> None:
    with write_transaction(store.engine) as conn:
        result = conn.execute(
            t.tokens.update().where(t.tokens.c.name == name, t.tokens.c.revoked_at.is_(None)).values(revoked_at=time.time())
        )
    if result.rowcount == 0:
        raise NotFoundError(f"no active token named {name!r}")


def token_is_valid(store: Store, token: str) -> bool:
    digest = _hash(token)
    with read_transaction(store.engine) as conn:
        rows = conn.execute(sa.select(t.tokens.c.token_hash).where(t.tokens.c.revoked_at.is_(None))).all()
    # Compare against every active hash so timing says nothing about which one matched.
    found = False
    for (stored,) in rows:
        found |= hmac.compare_digest(stored, digest)
    return found


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE)


def require_token(request: Request) -> None:
    """FastAPI dependency: 401 unless the app is open (``trackboard ui``) or the token is valid."""
    if not request.app.state.require_token:
        return
    token = request_token(request)
    if not token or not token_is_valid(request.app.state.store, token):
        raise HTTPException(status_code=401, detail="missing or invalid API token", headers={"WWW-Authenticate": "Bearer"})
