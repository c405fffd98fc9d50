"""Storage accounting: how many LINE points and blob bytes a project and its experiments hold."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from trackboard.store.storage import NOTHING, sizes

from .deps import StoreDep, api_router
from .errors import responses

router = api_router(tags=["storage"])


class SizeOut(BaseModel):
    points: int
    blob_bytes: int  # distinct images and artifacts referred to, each counted once


class ProjectStorageOut(SizeOut):
    experiments: dict[str, SizeOut]  # experiment id -> its size


@router.get("/api/project/{project_id}/storage", response_model=ProjectStorageOut, responses=responses(404))
def project_storage(project_id: uuid.UUID, store: StoreDep) -> dict:
    project = store.get_project_by_id(str(project_id))  # 404 if there is none
    held = sizes(store.engine, project["id"])
    experiments = {row["id"]: held.experiments.get(row["id"], NOTHING).as_dict() for row in store.list_experiments(project["id"])}
    return {**held.projects.get(project["id"], NOTHING).as_dict(), "experiments": experiments}


@router.get("/api/experiment/{experiment_id}/storage", response_model=SizeOut, responses=responses(404))
def experiment_storage(experiment_id: uuid.UUID, store: StoreDep) -> dict:
    row = store.get_experiment_by_id(str(experiment_id))
    return sizes(store.engine, experiment_id=row["id"]).experiments.get(row["id"], NOTHING).as_dict()
