"""Finding the best run over HTTP: run queries, run summaries and tags (trackboard's own routes).

``GET /api/trackboard/projects/{id}/experiments?filter=...&order_by=...`` evaluates the query
language (``trackboard.query``) in the store; a malformed query answers 400 with the QueryError's
message (``at 17: expected a value after '<'``). Summaries (tags, flattened parameters, VALUE logs,
LINE extremes) travel as JSON text with bare NaN/Infinity, like the other wire reads, so frames
built through the remote client hold the stored values exactly.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

from trackboard.wire import dumps_data

from .deps import StoreDep, api_router, checked_text, experiment_out
from .errors import responses
from .schemas import ExperimentOut

router = api_router(tags=["trackboard"])
MAX_IDS = 100_000
MAX_TAGS = 1000


class RunsOut(BaseModel):
    items: list[ExperimentOut]
    count: int


class SummariesIn(BaseModel):
    ids: list[uuid.UUID] = Field(max_length=MAX_IDS)


class SummariesOut(BaseModel):
    summaries_json: str = Field(description="{experiment id: {tags, params, values, series}} as JSON text "
                                            "(NaN and Infinity as bare tokens)")


class TagsIn(BaseModel):
    add: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    remove: list[str] = Field(default_factory=list, max_length=MAX_TAGS)


class TagsOut(BaseModel):
    tags: list[str]


@router.get("/api/trackboard/projects/{project_id}/experiments", response_model=RunsOut, responses=responses(400, 404))
def search_experiments(
    project_id: uuid.UUID, store: StoreDep,
    filter: Annotated[str | None, Query(max_length=10_000, description="a run query, e.g. params.lr < 0.01")] = None,
    order_by: Annotated[list[str] | None, Query(max_length=16, description="e.g. values.accuracy DESC")] = None,
    max_results: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
) -> dict:
    store.get_project_by_id(str(project_id))
    checked_text(filter, "a filter")
    for key in order_by or ():
        checked_text(key, "a sort key")
    rows = store.search_experiments(str(project_id), filter, order_by, max_results)
    return {"items": [experiment_out(row) for row in rows], "count": len(rows)}


@router.post("/api/trackboard/summaries", response_model=SummariesOut, responses=responses(400))
def experiment_summaries(body: SummariesIn, store: StoreDep) -> dict:
    summaries = store.experiment_summaries([str(experiment_id) for experiment_id in body.ids])
    return {"summaries_json": dumps_data(summaries)}


@router.get("/api/trackboard/experiments/{experiment_id}/tags", response_model=TagsOut, responses=responses(404))
def get_tags(experiment_id: uuid.UUID, store: StoreDep) -> dict:
    return {"tags": store.get_tags(str(experiment_id))}


@router.post("/api/trackboard/experiments/{experiment_id}/tags", response_model=TagsOut, responses=responses(400, 404))
def change_tags(experiment_id: uuid.UUID, body: TagsIn, store: StoreDep) -> dict:
    """Add the tags in ``add``, then remove those in ``remove``; answers the tags it has now."""
    for tag in (*body.add, *body.remove):
        checked_text(tag, "a tag")
    if body.add:
        store.add_tags(str(experiment_id), body.add)
    if body.remove:
        store.remove_tags(str(experiment_id), body.remove)
    return {"tags": store.get_tags(str(experiment_id))}
