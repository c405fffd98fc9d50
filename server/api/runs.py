"""Finding the best run over HTTP: run queries, run summaries, tags, and the sweep analysis the
dashboard draws (groups with aggregates, parameter importance); trackboard's own routes.

``GET /api/trackboard/projects/{id}/experiments?filter=...&order_by=...`` evaluates the query
language (``trackboard.query``) in the store; a malformed query answers 400 with the QueryError's
message (``at 17: expected a value after '<'``). Summaries (tags, flattened parameters, VALUE logs,
LINE extremes) travel as JSON text with bare NaN/Infinity, like the other wire reads, so frames
built through the remote client hold the stored values exactly.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query, Request
from pydantic import BaseModel, Field, StringConstraints

from trackboard import analysis
from trackboard.jsonable import json_safe
from trackboard.wire import dumps_data

from ..scope import visible_experiment
from .deps import StoreDep, api_router, checked_text, experiment_out
from .errors import ROLE, ApiError, responses
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


# The query string stays under the HTTP server's 16 KiB request-line limit even for 4-byte characters;
# the analysis routes below take their (longer) queries in a JSON body.
SortKey = Annotated[str, StringConstraints(max_length=100)]


@router.get("/api/trackboard/projects/{project_id}/experiments", response_model=RunsOut, responses=responses(400, 404))
def search_experiments(
    project_id: uuid.UUID, store: StoreDep,
    filter: Annotated[str | None, Query(max_length=800, description="a run query, e.g. params.lr < 0.01")] = None,
    order_by: Annotated[list[SortKey] | None, Query(max_length=4, description="e.g. values.accuracy DESC")] = None,
    max_results: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
) -> dict:
    store.get_project_by_id(str(project_id))
    checked_text(filter, "a filter")
    for key in order_by or ():
        checked_text(key, "a sort key")
    rows = store.search_experiments(str(project_id), filter, order_by, max_results)
    return {"items": [experiment_out(row) for row in rows], "count": len(rows)}


# POST only to carry a body: these read, so a read token may use them.
@router.post("/api/trackboard/summaries", response_model=SummariesOut, responses=responses(400),
             openapi_extra={ROLE: "read"})
def experiment_summaries(body: SummariesIn, request: Request, store: StoreDep) -> dict:
    """Each experiment's summary; experiments the token may not see are left out, as unknown ones are."""
    ids = [str(experiment_id) for experiment_id in body.ids]
    summaries = store.experiment_summaries([i for i in ids if visible_experiment(request, store, i)])
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


# -- sweep analysis for the dashboard (trackboard/analysis.py) -----------------------------------


class MetricStats(BaseModel):
    mean: float | str | None
    std: float | str | None
    min: float | str | None
    max: float | str | None
    count: int


class Group(BaseModel):
    key: dict[str, Any] = Field(description="the grouping fields' values (null: missing)")
    count: int
    ids: list[str]
    metrics: dict[str, MetricStats]


class GroupsOut(BaseModel):
    groups: list[Group]


class Importance(BaseModel):
    name: str
    importance: float
    correlation: float | None


class ImportanceOut(BaseModel):
    metric: str
    runs: int
    parameters: list[Importance]


Text = Annotated[str, StringConstraints(max_length=1024)]


class GroupsIn(BaseModel):
    filter: str | None = Field(None, max_length=10_000, description="a run query selecting the runs")
    by: list[Text] = Field(default_factory=list, max_length=256, description="e.g. ['params.lr', 'params.batch']")
    metrics: list[Text] | None = Field(None, max_length=1024,
                                       description="default: every numeric VALUE log and LINE last/min/max")


class ImportanceIn(BaseModel):
    filter: str | None = Field(None, max_length=10_000, description="a run query selecting the runs")
    metric: Text = Field(description="e.g. values.accuracy or min.`val/loss`")
    parameters: list[Text] | None = Field(None, max_length=1024, description="default: every params.* field")


def _runs(store, project_id: uuid.UUID, filter: str | None, texts: list[str]) -> list[tuple[dict, dict]]:
    store.get_project_by_id(str(project_id))
    for text in (filter, *texts):
        checked_text(text, "a query")
    rows = store.search_experiments(str(project_id), filter)
    return analysis.runs_of(rows, store.experiment_summaries([row["id"] for row in rows]))


@router.post("/api/trackboard/projects/{project_id}/groups", response_model=GroupsOut, responses=responses(400, 404),
             openapi_extra={ROLE: "read"})
def group_runs(project_id: uuid.UUID, body: GroupsIn, store: StoreDep) -> dict:
    """The matching runs grouped by the ``by`` fields (e.g. every parameter but the seed), with mean, std,
    min, max and count of each metric, largest group first."""
    runs = _runs(store, project_id, body.filter, [*body.by, *(body.metrics or ())])
    return {"groups": json_safe(analysis.groups(runs, body.by, body.metrics))}


@router.post("/api/trackboard/projects/{project_id}/importance", response_model=ImportanceOut,
             responses={**responses(400, 404), 501: {"description": "scikit-learn is not installed on the server"}},
             openapi_extra={ROLE: "read"})
def parameter_importance(project_id: uuid.UUID, body: ImportanceIn, store: StoreDep) -> dict:
    """How much each parameter drives ``metric`` over the matching runs: random-forest importance and
    Pearson correlation (scikit-learn, as W&B's parameter importance)."""
    runs = _runs(store, project_id, body.filter, [body.metric, *(body.parameters or ())])
    try:
        return analysis.importance(runs, body.metric, body.parameters)
    except ImportError as error:
        raise ApiError(501, str(error)) from None
