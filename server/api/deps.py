"""What every API route shares: the store, the single organization, names, pagination, row shapes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Sequence

from fastapi import APIRouter, Depends, Query, Request

from trackboard.jsonable import json_safe
from trackboard.normalise import check_name, check_text
from trackboard.server.auth import require_token
from trackboard.status import picsellia_status
from trackboard.store.sql import Store

from .errors import ApiError, ApiRoute, responses

# picsellia addresses everything through an organization and a storage connector; a trackboard
# server has one of each, with fixed ids so every worker and restart agrees on them.
ORGANIZATION_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://trackboard/organization"))
ORGANIZATION_NAME = "trackboard"
CONNECTOR_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://trackboard/connector"))


def get_store(request: Request) -> Store:
    return request.app.state.store


StoreDep = Annotated[Store, Depends(get_store)]


def api_router(**kwargs: Any) -> APIRouter:
    """A router of token-protected API routes with trackboard's error mapping."""
    return APIRouter(
        route_class=ApiRoute, dependencies=[Depends(require_token)], responses=responses(401, 403), **kwargs
    )


def check_organization(organization_id: uuid.UUID) -> None:
    if str(organization_id) != ORGANIZATION_ID:
        raise ApiError(404, "no such organization on this server")


def check_connector(connector_id: uuid.UUID) -> None:
    if str(connector_id) != CONNECTOR_ID:
        raise ApiError(404, "no such storage connector on this server")


def checked_name(name: Any, what: str = "a log name") -> str:
    """``check_name``: what storage refuses (NUL, lone surrogates) answers 400 naming the problem."""
    return check_name(name, what)


def checked_text(text: str | None, what: str) -> str | None:
    return None if text is None else check_text(text, what, nul=False)


# -- pagination ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    limit: int | None
    offset: int
    order_by: tuple[str, ...]

    def apply(self, rows: Sequence[dict], fields: Sequence[str]) -> tuple[list[dict], int]:
        """The rows of this page (sorted by ``order_by``, '-field' descending) and how many in all."""
        rows = list(rows)
        for key in reversed(self.order_by):
            field = key.lstrip("-")
            if field not in fields:
                raise ApiError(400, f"cannot order by {field[:64]!r}; use one of {list(fields)}")
            rows.sort(key=_sort_key(field), reverse=key.startswith("-"))
        end = None if self.limit is None else self.offset + self.limit
        return rows[self.offset:end], len(rows)


def _sort_key(field: str) -> Callable[[dict], tuple]:
    return lambda row: (row.get(field) is None, row.get(field) if row.get(field) is not None else 0)


def page(
    limit: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
    offset: Annotated[int | None, Query(ge=0, le=1_000_000_000)] = None,
    order_by: Annotated[list[str] | None, Query(max_length=8)] = None,
) -> Page:
    return Page(limit, offset or 0, tuple(order_by or ()))


PageDep = Annotated[Page, Depends(page)]


# -- rows as answers ---------------------------------------------------------------------------


def project_out(row: dict) -> dict:
    keys = ("id", "name", "description", "created_at")
    return {key: row.get(key) for key in keys}


def experiment_out(row: dict) -> dict:
    """An experiment row as the picsellia SDK reads it; ``run_status`` keeps CRASHED for trackboard."""
    keys = ("id", "name", "project_id", "status", "description", "created_at", "updated_at", "finished_at")
    out = {key: row.get(key) for key in keys}
    out["run_status"], out["status"] = row["status"], picsellia_status(row["status"])
    return out


def safe(data: Any) -> Any:
    """Data as valid JSON (NaN and +-inf as strings), for the picsellia-shaped routes."""
    return json_safe(data)
