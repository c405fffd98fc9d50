"""Experiments: ``project.create_experiment(parameters=...) / get_experiment / list_experiments``,
``client.get_experiment_by_id`` and ``experiment.update(status=...) / delete``."""

from __future__ import annotations

import time
import uuid

from fastapi import Query, Request, Response

from trackboard.logtype import LogType
from trackboard.normalise import normalise
from trackboard.records import Record
from trackboard.server.scope import check_experiment

from . import queries
from .deps import (
    PageDep,
    StoreDep,
    api_router,
    check_organization,
    checked_name,
    checked_text,
    experiment_out,
)
from .errors import ROLE, ApiError, responses
from .schemas import ExperimentIn, ExperimentOut, ExperimentUpdate, Ids, Items

router = api_router(tags=["experiments"])
PROJECT = "/api/project/{project_id}"


@router.post(f"{PROJECT}/experiments", status_code=201, response_model=ExperimentOut,
             responses=responses(400, 404, 409))
def create_experiment(project_id: uuid.UUID, body: ExperimentIn, store: StoreDep) -> dict:
    project = store.get_project_by_id(str(project_id))
    name = checked_name(body.name, "an experiment name")
    if body.base_experiment_id is not None or body.base_model_version_id is not None:
        raise ApiError(400, "base experiments and base model versions are not supported by trackboard")
    # Validate the parameters before creating anything, so a bad table leaves no experiment behind.
    parameters = normalise("parameters", LogType.TABLE, body.parameters) if body.parameters else None
    row = store.create_experiment(project["id"], name, checked_text(body.description, "a description") or None)
    if parameters is not None:
        failures = store.apply([Record(row["id"], "parameters", LogType.TABLE, parameters, False, time.time())])
        if failures:
            raise failures[0][1]
    return experiment_out(row)


@router.get(f"{PROJECT}/experiments/find", response_model=ExperimentOut, responses=responses(400, 404))
def find_experiment(
    project_id: uuid.UUID, store: StoreDep,
    name: str | None = Query(None, max_length=256), id: uuid.UUID | None = None,
) -> dict:
    store.get_project_by_id(str(project_id))
    if id is not None:
        row = store.get_experiment_by_id(str(id))
        if row["project_id"] != str(project_id):
            raise ApiError(404, "no experiment with that id in this project")
        return experiment_out(row)
    if name is None:
        raise ApiError(400, "give the experiment's name or id")
    return experiment_out(store.get_experiment(str(project_id), name))


@router.get(f"{PROJECT}/experiments", response_model=Items[ExperimentOut], responses=responses(400, 404))
def list_experiments(project_id: uuid.UUID, page: PageDep, store: StoreDep) -> dict:
    store.get_project_by_id(str(project_id))
    rows = [experiment_out(row) for row in store.list_experiments(str(project_id))]
    items, count = page.apply(rows, ("name", "created_at", "updated_at", "status"))
    return {"items": items, "count": count}


@router.get(f"{PROJECT}/experiments/ids", response_model=list[str], responses=responses(404))
def list_experiment_ids(project_id: uuid.UUID, store: StoreDep) -> list[str]:
    store.get_project_by_id(str(project_id))
    return queries.experiment_ids(store, str(project_id))


@router.delete(f"{PROJECT}/experiments", status_code=204, response_class=Response, responses=responses(404),
               openapi_extra={ROLE: "admin"})
def delete_experiments(project_id: uuid.UUID, body: Ids, store: StoreDep) -> Response:
    store.get_project_by_id(str(project_id))
    wanted = set(body.ids)
    for experiment_id in queries.experiment_ids(store, str(project_id)):
        if experiment_id in wanted:
            store.delete_experiment(experiment_id)
    return Response(status_code=204)


@router.get("/api/organization/{organization_id}/experiments/find", response_model=ExperimentOut,
            responses=responses(404))
def find_experiment_by_id(organization_id: uuid.UUID, id: uuid.UUID, request: Request, store: StoreDep) -> dict:
    check_organization(organization_id)
    check_experiment(request, store, str(id))
    return experiment_out(store.get_experiment_by_id(str(id)))


@router.get("/api/experiment/{experiment_id}", response_model=ExperimentOut, responses=responses(404))
def get_experiment(experiment_id: uuid.UUID, store: StoreDep) -> dict:
    return experiment_out(store.get_experiment_by_id(str(experiment_id)))


@router.patch("/api/experiment/{experiment_id}", response_model=ExperimentOut, responses=responses(400, 404, 409))
def update_experiment(experiment_id: uuid.UUID, body: ExperimentUpdate, store: StoreDep) -> dict:
    row = store.get_experiment_by_id(str(experiment_id))
    name = None if body.name is None else checked_name(body.name, "an experiment name")
    queries.update_experiment(store, row["id"], name, checked_text(body.description, "a description"))
    if body.status is not None:
        store.set_status(row["id"], body.status)
    return experiment_out(store.get_experiment_by_id(row["id"]))


@router.delete("/api/experiment/{experiment_id}", status_code=204, response_class=Response, responses=responses(404),
               openapi_extra={ROLE: "admin"})
def delete_experiment(experiment_id: uuid.UUID, store: StoreDep) -> Response:
    store.get_experiment_by_id(str(experiment_id))
    store.delete_experiment(str(experiment_id))
    return Response(status_code=204)
