"""Errors -> HTTP answers, and the route class that applies them.

Every error answer is ``{"message": "..."}`` (plus ``detail`` for request validation): the shape
the picsellia SDK reads (it raises ``ResourceNotFoundError`` on 404, ``ResourceConflictError`` on
409, ``BadRequestError`` on 400/422, ``RequestTooLargeError`` on 413). A router can not install
exception handlers, so the mapping lives in ``ApiRoute``, which every API router uses.
"""

from __future__ import annotations

from typing import Any, Callable, Coroutine

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from trackboard.errors import (
    AlreadyExistsError,
    LogTypeConflictError,
    NotFoundError,
    TrackboardError,
)

MiB = 1024 * 1024
DEFAULT_MAX_BODY = 16 * MiB  # JSON requests; routes that take more say so with MAX_BODY
MAX_BODY = "x-max-body-bytes"  # openapi_extra key: the route's cap, also shown in the schema
ROLE = "x-trackboard-role"  # openapi_extra key: the least role a route needs (default: by method)
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


def route_role(methods: set[str] | None, openapi_extra: dict | None) -> str:
    """The least role a route needs: its ``x-trackboard-role``, else read for GET, write otherwise."""
    declared = (openapi_extra or {}).get(ROLE)
    if declared:
        return declared
    return "read" if methods and set(methods) <= SAFE_METHODS else "write"


class ApiError(Exception):
    """An answer other than 2xx, with the message the client shows."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ErrorBody(BaseModel):
    """What every error answer holds."""

    message: str


class AuthErrorBody(BaseModel):
    """The 401 answer (from the token check shared with the dashboard)."""

    detail: str


def status_for(error: Exception) -> int:
    """The HTTP status of a trackboard error."""
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, (AlreadyExistsError, LogTypeConflictError)):
        return 409
    return 400  # bad data, bad names, unknown log types


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"message": message, **extra}, status_code=status)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error codes."""
    described = {400: "Invalid data", 401: "Missing or invalid API token", 403: "Forbidden: the token's role may not, or a bad or expired signature",
                 404: "Not found", 409: "Conflict", 411: "Length required", 413: "Request too large"}
    return {code: {"model": AuthErrorBody if code == 401 else ErrorBody, "description": described[code]}
            for code in codes}


class BodyTooLarge(HTTPException):
    """Raised while a body streams in past the cap (an HTTPException, so FastAPI's body parsing lets it through)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request is over {limit} bytes, the most this route accepts")


class ApiRoute(APIRoute):
    """Maps errors to answers; says in the schema which role a route needs (``x-trackboard-role``).

    The body cap, the token and the role are checked before this runs, by ``guard.RequestGuard``.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.openapi_extra = {ROLE: route_role(self.methods, self.openapi_extra), **(self.openapi_extra or {})}
        if self.body_field is not None or self.methods & {"POST", "PUT", "PATCH"}:
            # Any route that reads a body can find it unreadable (400) or too large (413).
            self.responses = {**responses(400, 413), **self.responses}

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as error:
                return error_response(error.status, error.message)
            except TrackboardError as error:
                return error_response(status_for(error), str(error))
            except UnicodeEncodeError:  # a lone surrogate that no check caught: still the client's fault
                return error_response(400, "the request holds text that cannot be stored (a lone surrogate)")
            except StarletteHTTPException as error:  # FastAPI raises Starlette's for unreadable bodies
                if error.status_code == 401:
                    raise  # the token check's own answer, nothing more
                response = error_response(error.status_code, str(error.detail))
                response.headers.update(error.headers or {})
                return response
            except RequestValidationError as error:
                errors = error.errors()
                return error_response(422, "invalid request: " + _describe(errors), detail=_plain(errors))

        return route_handler


def _describe(errors: list[dict]) -> str:
    parts = []
    for item in errors[:5]:
        where = ".".join(str(part) for part in item.get("loc", ()))
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def _plain(errors: list[dict]) -> list[dict]:
    # Validation errors may carry the offending input and exception objects: keep what is JSON.
    return [{"loc": list(item.get("loc", ())), "msg": str(item.get("msg", "")), "type": str(item.get("type", ""))}
            for item in errors]
