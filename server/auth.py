"""Who is asking: API tokens (with a role, project scope and expiry) and dashboard sessions.

Tokens are created by ``trackboard token create`` and stored hashed. A token has a role:
``read`` reads, ``write`` also creates and logs, ``admin`` also deletes projects and experiments
(and manages tokens, which is the CLI's job). A token may be limited to some projects (by name):
it then sees only those, and others answer 404 as if they did not exist. The dashboard's sign-in
makes a server-side session (a random id in an HttpOnly cookie, only its hash stored) that
expires, ends at sign-out and ends when its token is revoked.

``guard.RequestGuard`` authenticates every request before its body is read and puts the
``Principal`` in the request's state; ``require_token`` (the routers' dependency) then checks
the project scope of the path.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import HTTPException, Request

from trackboard.errors import AlreadyExistsError, InvalidLogError, NotFoundError
from trackboard.store import schema as t
from trackboard.store.engine import read_transaction, write_transaction
from trackboard.store.sql import Store

TOKEN_PREFIX = "tb_"
COOKIE = "trackboard_session"  # the dashboard's sign-in keeps a session id in this cookie
SESSION_TTL_S = 7 * 24 * 3600
ROLES = ("read", "write", "admin")
DEFAULT_ROLE = "write"


@dataclass(frozen=True)
class Principal:
    """The token behind a request: its name, role and projects (None: every project)."""

    name: str
    role: str
    projects: frozenset[str] | None = None

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)

    def sees(self, project_name: str) -> bool:
        return self.projects is None or project_name in self.projects


LOCAL = Principal("local", "admin")  # `trackboard ui`: the person at this machine


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


# -- tokens ------------------------------------------------------------------------------------


def parse_duration(text: str) -> float:
    """Seconds in ``30d``, ``12h``, ``45m``, ``90s`` (or a bare number of seconds).

    >>> parse_duration("30d")
    2592000.0
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text or "")
    if not match:
        raise InvalidLogError(f"{text!r} is not a duration; use e.g. 30d, 12h, 45m or 90s")
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}[match.group(2)]
    return float(match.group(1)) * unit


def create_token(store: Store, name: str, role: str = DEFAULT_ROLE, projects: list[str] | None = None,
                 expires_in_s: float | None = None) -> str:
    """A new token called ``name``; only its hash is stored, so it is shown once."""
    if role not in ROLES:
        raise InvalidLogError(f"role must be one of {list(ROLES)}, got {role!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = time.time()
    try:
        with write_transaction(store.engine) as conn:
            conn.execute(t.tokens.insert().values(
                name=name, token_hash=_hash(token), created_at=now, role=role,
                projects=None if not projects else json.dumps(sorted(set(projects))),
                expires_at=None if expires_in_s is None else now + expires_in_s,
            ))
    except sa.exc.IntegrityError:
        raise AlreadyExistsError(f"a token named {name!r} already exists") from None
    return token


def list_tokens(store: Store) -> list[dict]:
    c = t.tokens.c
    with read_transaction(store.engine) as conn:
        rows = conn.execute(sa.select(c.name, c.role, c.projects, c.created_at, c.expires_at, c.revoked_at)
                            .order_by(c.created_at))
        out = []
        for row in rows:
            item = dict(row._mapping)
            item["projects"] = None if item["projects"] is None else json.loads(item["projects"])
            out.append(item)
        return out


def token_state(row: dict, now: float | None = None) -> str:
    """``active``, ``revoked`` or ``expired``."""
    if row["revoked_at"]:
        return "revoked"
    if row["expires_at"] is not None and row["expires_at"] <= (now or time.time()):
        return "expired"
    return "active"


def revoke_token(store: Store, name: str) -> None:
    """Revoke a token and end every dashboard session signed in with it."""
    now = time.time()
    with write_transaction(store.engine) as conn:
        result = conn.execute(
            t.tokens.update().where(t.tokens.c.name == name, t.tokens.c.revoked_at.is_(None)).values(revoked_at=now)
        )
        conn.execute(t.sessions.update().where(t.sessions.c.token_name == name, t.sessions.c.revoked_at.is_(None))
                     .values(revoked_at=now))
    if result.rowcount == 0:
        raise NotFoundError(f"no active token named {name!r}")


def _active_tokens(now: float | sa.BindParameter):
    c = t.tokens.c
    return sa.and_(c.revoked_at.is_(None), sa.or_(c.expires_at.is_(None), c.expires_at > now))


def _principal(row) -> Principal:
    projects = None if row.projects is None else frozenset(json.loads(row.projects))
    return Principal(row.name, row.role or DEFAULT_ROLE, projects)


def authenticate(store: Store, token: str) -> Principal | None:
    """The principal of an active, unexpired token (None for anything else)."""
    with read_transaction(store.engine) as conn:
        # The digest of a 256-bit random secret: looking it up by index tells a guesser nothing.
        row = conn.execute(_token_query(), {"token_hash": _hash(token), "now": time.time()}).first()
    return None if row is None else _principal(row)


@functools.cache
def _token_query() -> sa.Select:
    """``authenticate``'s statement, built once: every request of a server runs it."""
    c = t.tokens.c
    return sa.select(c.name, c.role, c.projects).where(c.token_hash == sa.bindparam("token_hash"),
                                                        _active_tokens(sa.bindparam("now")))


def token_is_active(store: Store, name: str) -> bool:
    with read_transaction(store.engine) as conn:
        return conn.execute(sa.select(t.tokens.c.name)
                            .where(t.tokens.c.name == name, _active_tokens(time.time()))).first() is not None


# -- dashboard sessions --------------------------------------------------------------------------


def create_session(store: Store, principal: Principal, ttl_s: float = SESSION_TTL_S) -> str:
    """A new session for the token behind ``principal``; returns the id for the cookie (shown once)."""
    session_id = secrets.token_urlsafe(32)
    now = time.time()
    with write_transaction(store.engine) as conn:
        conn.execute(t.sessions.insert().values(id_hash=_hash(session_id), token_name=principal.name,
                                                created_at=now, expires_at=now + ttl_s))
    return session_id


def session_principal(store: Store, session_id: str) -> Principal | None:
    """The principal of a live session whose token is still active."""
    now = time.time()
    s, c = t.sessions.c, t.tokens.c
    with read_transaction(store.engine) as conn:
        row = conn.execute(
            sa.select(c.name, c.role, c.projects).select_from(t.sessions.join(t.tokens, s.token_name == c.name))
            .where(s.id_hash == _hash(session_id), s.revoked_at.is_(None), s.expires_at > now, _active_tokens(now))
        ).first()
    return None if row is None else _principal(row)


def end_session(store: Store, session_id: str) -> None:
    with write_transaction(store.engine) as conn:
        conn.execute(t.sessions.update().where(t.sessions.c.id_hash == _hash(session_id),
                                               t.sessions.c.revoked_at.is_(None)).values(revoked_at=time.time()))


# -- requests --------------------------------------------------------------------------------------


def bearer_token(headers) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def identify(store: Store, headers, cookies: dict[str, str]) -> Principal | None:
    """The principal of a request's bearer token, else of its session cookie."""
    token = bearer_token(headers)
    if token is not None:
        return authenticate(store, token)
    session_id = cookies.get(COOKIE)
    return session_principal(store, session_id) if session_id else None


def principal_of(request: Request) -> Principal | None:
    """What ``RequestGuard`` found for this request (LOCAL on ``trackboard ui``)."""
    if not request.app.state.require_token:
        return LOCAL
    return request.scope.get("state", {}).get("principal")


def unauthorized() -> HTTPException:
    return HTTPException(status_code=401, detail="missing or invalid API token", headers={"WWW-Authenticate": "Bearer"})


def require_token(request: Request) -> Principal:
    """FastAPI dependency of every protected route: the principal (the guard already checked it
    before the body) and 404 when the path names a project outside the token's scope."""
    principal = principal_of(request)
    if principal is None:  # only when the app runs without the guard: fail closed
        raise unauthorized()
    if principal.projects is not None:
        from .scope import check_path_scope

        check_path_scope(request.app.state.store, principal, request.path_params)
    return principal
