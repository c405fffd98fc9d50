"""What every request passes before any route reads its body: one ASGI middleware.

In order, from the headers alone:

1. ``Host``: on ``trackboard ui`` only its own loopback address answers (403 otherwise), so a page
   on another origin that resolves to 127.0.0.1 (DNS rebinding) cannot read or change anything.
2. ``Origin``: a state-changing request (POST, PUT, PATCH, DELETE) from a browser page of another
   origin is refused with 403 (CSRF of the sign-in, sign-out and everything else).
3. The body cap of the route (``x-max-body-bytes`` in the OpenAPI schema): a declared ``Content-Length`` over it is
   answered 413 at once, and a body without one is counted while it streams and stopped there.
4. The token (``Authorization: Bearer``, or the dashboard's session cookie) of a protected route:
   401 when missing, bad, revoked or expired, 403 when its role may not use the route.

Only then does the route run, so an unauthenticated client can never make the server read, buffer
or parse a body. The principal found is left in the request state for ``auth.require_token``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .api.errors import DEFAULT_MAX_BODY, MAX_BODY, ROLE, SAFE_METHODS, BodyTooLarge, route_role
from .auth import identify


def loopback_hosts(port: int) -> frozenset[str]:
    """The Host headers a browser sends to a dashboard on this machine's loopback at ``port``."""
    names = ("127.0.0.1", "localhost", "[::1]")
    return frozenset([f"{name}:{port}" for name in names] + ([*names] if port == 80 else []))


class _Policy:
    __slots__ = ("protected", "role", "cap")

    def __init__(self, protected: bool, role: str, cap: int = DEFAULT_MAX_BODY) -> None:
        self.protected, self.role, self.cap = protected, role, cap


# Paths outside the OpenAPI schema: the dashboard's JSON needs a token (or its session); the
# sign-in form is public and tiny; pages and static files are public (pages redirect to sign-in).
_DASHBOARD_DATA = "/ui/data/"
_SMALL_FORMS = frozenset(("/ui/signin", "/ui/signout"))
SMALL_FORM_BYTES = 4096


class Policies:
    """Each API operation's policy, read from the app's own OpenAPI schema.

    Built with the app, before its first request: the schema takes about 0.4 s of CPU to build,
    which would otherwise land on the first request each server worker answers.

    A route is protected when the schema says it can answer 401; its role is ``x-trackboard-role``
    and its cap ``x-max-body-bytes``. A path under /api/ that matches no operation is protected
    too (the router then answers 404 or 405, but only to a valid token).
    """

    def __init__(self, app: Any) -> None:
        table = []
        for template, operations in app.openapi().get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\{[^}/]+\\}", "[^/]+", re.escape(template)) + "$")
            policies = {}
            for method, operation in operations.items():
                protected = "401" in operation.get("responses", {})
                policies[method.upper()] = _Policy(protected, operation.get(ROLE) or route_role({method.upper()}, None),
                                                   int(operation.get(MAX_BODY, DEFAULT_MAX_BODY)))
            table.append((template.count("{"), pattern, policies))
        table.sort(key=lambda item: item[0])  # literal segments win over parameters (/find before /{id})
        self.table = [(pattern, policies) for _, pattern, policies in table]

    def find(self, method: str, path: str) -> _Policy:
        if path.startswith("/api/"):
            for pattern, policies in self.table:
                if pattern.match(path):
                    policy = policies.get(method)
                    if policy is not None:
                        return policy
            return _Policy(True, route_role({method}, None))
        if path.startswith(_DASHBOARD_DATA):
            return _Policy(True, route_role({method}, None))
        if path in _SMALL_FORMS:
            return _Policy(False, "read", SMALL_FORM_BYTES)
        return _Policy(False, "read")


class RequestGuard:
    """The middleware (see the module docstring); ``allowed_hosts`` only for ``trackboard ui``."""

    def __init__(self, app: ASGIApp, policies: Policies, allowed_hosts: frozenset[str] | None = None) -> None:
        self.app = app
        self.policies = policies
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        policy = self.policies.find(scope["method"], scope["path"])
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await _answer(400, "Content-Length must be a number of bytes")(scope, receive, send)
                return
            if int(declared) > policy.cap:
                message = f"the request has {declared} bytes; this route accepts at most {policy.cap}"
                await _answer(413, message)(scope, receive, send)
                return
        app = scope["app"]
        if policy.protected and app.state.require_token:
            cookies = cookie_parser(headers.get("cookie", ""))
            principal = await run_in_threadpool(identify, app.state.store, headers, cookies)
            if principal is None:
                await _answer(401, "missing or invalid API token", {"WWW-Authenticate": "Bearer"},
                              key="detail")(scope, receive, send)
                return
            if not principal.can(policy.role):
                message = f"the token {principal.name!r} has the role {principal.role!r}; this needs {policy.role!r}"
                await _answer(403, message)(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, _capped(receive, policy.cap), send)

    def _refusal(self, scope: Scope, headers: Headers):
        host = headers.get("host", "").lower()
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            return _answer(403, f"this dashboard answers only on {sorted(self.allowed_hosts)[0]}, not Host {host[:100]!r}")
        if scope["method"] not in SAFE_METHODS and not _same_origin(headers, host):
            return _answer(403, "cross-origin request refused")
        return None


def _same_origin(headers: Headers, host: str) -> bool:
    """False for a browser request sent by a page of another origin (no Origin: not a browser's)."""
    origin = headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc.lower() == host
    return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def _answer(status: int, message: str, headers: dict | None = None, key: str = "message") -> JSONResponse:
    # Connection: close, since the body that may follow is never read.
    return JSONResponse({key: message}, status_code=status, headers={**(headers or {}), "Connection": "close"})


def _capped(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def capped_receive():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return capped_receive
