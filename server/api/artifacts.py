"""Artifacts: ``experiment.store / get_artifact / list_artifacts``, ``artifact.download / update / delete``.

An artifact names an uploaded object (see ``uploads.py``); answers carry a signed ``presigned_url``
to download it and the object name ``blob/<sha256>``, which ``retrieve_presigned_url`` resolves.
"""

from __future__ import annotations

import mimetypes
import uuid

from fastapi import Query, Request, Response

from trackboard.errors import AlreadyExistsError, NotFoundError
from trackboard.store.sql import Store
from trackboard.wire import safe_filename

from . import queries
from .deps import PageDep, StoreDep, api_router, checked_name
from .errors import responses
from .schemas import ArtifactIn, ArtifactOut, ArtifactUpdate, Ids, Items
from .uploads import blob_object_name, download_url, resolve_object

router = api_router(tags=["artifacts"])
EXPERIMENT = "/api/experiment/{experiment_id}"
LARGE_BYTES = 25 * 1024 * 1024  # what the SDK calls a large file


def artifact_out(request: Request, store: Store, row: dict) -> dict:
    return {
        "id": row["id"], "name": row["name"], "filename": row["filename"],
        "object_name": blob_object_name(row["sha256"]), "large": row["size"] > LARGE_BYTES,
        "size": row["size"], "sha256": row["sha256"], "content_type": row["content_type"],
        "created_at": row["created_at"], "presigned_url": download_url(request, store, row["sha256"], row["filename"]),
    }


@router.post(f"{EXPERIMENT}/artifacts", status_code=201, response_model=ArtifactOut, responses=responses(400, 404, 409))
def create_artifact(
    experiment_id: uuid.UUID, body: ArtifactIn, request: Request, store: StoreDep,
    replace: bool = Query(False, description="replace an artifact of that name instead of answering 409"),
) -> dict:
    experiment = store.get_experiment_by_id(str(experiment_id))
    name = checked_name(body.name, "an artifact name")
    sha256, size, _ = resolve_object(store, body.object_name, experiment["id"])
    if not replace:
        try:
            store.get_artifact(experiment["id"], name)
            raise AlreadyExistsError(f"an artifact named {name!r} already exists in this experiment")
        except NotFoundError:
            pass
    row = store.add_artifact_blob(experiment["id"], name, safe_filename(body.filename), sha256, size)
    return artifact_out(request, store, row)


@router.get(f"{EXPERIMENT}/artifacts/find", response_model=ArtifactOut, responses=responses(404))
def find_artifact(
    experiment_id: uuid.UUID, request: Request, store: StoreDep, name: str = Query(max_length=256),
) -> dict:
    store.get_experiment_by_id(str(experiment_id))
    return artifact_out(request, store, store.get_artifact(str(experiment_id), name))


@router.get(f"{EXPERIMENT}/artifacts", response_model=Items[ArtifactOut], responses=responses(400, 404))
def list_artifacts(experiment_id: uuid.UUID, page: PageDep, request: Request, store: StoreDep) -> dict:
    store.get_experiment_by_id(str(experiment_id))
    rows, count = page.apply(store.list_artifacts(str(experiment_id)), ("name", "created_at", "size"))
    return {"items": [artifact_out(request, store, row) for row in rows], "count": count}


@router.get(f"{EXPERIMENT}/artifacts/ids", response_model=list[str], responses=responses(404))
def list_artifact_ids(experiment_id: uuid.UUID, store: StoreDep) -> list[str]:
    store.get_experiment_by_id(str(experiment_id))
    return queries.artifact_ids(store, str(experiment_id))


@router.delete(f"{EXPERIMENT}/artifacts", status_code=204, response_class=Response, responses=responses(404))
def delete_artifacts(experiment_id: uuid.UUID, body: Ids, store: StoreDep) -> Response:
    store.get_experiment_by_id(str(experiment_id))
    wanted = set(body.ids)
    for row in store.list_artifacts(str(experiment_id)):
        if row["id"] in wanted:
            store.delete_artifact(str(experiment_id), row["name"])
    return Response(status_code=204)


@router.get("/api/artifact/{artifact_id}", response_model=ArtifactOut, responses=responses(404))
def get_artifact(artifact_id: uuid.UUID, request: Request, store: StoreDep) -> dict:
    return artifact_out(request, store, queries.artifact_by_id(store, str(artifact_id)))


@router.patch("/api/artifact/{artifact_id}", response_model=ArtifactOut, responses=responses(400, 404, 409))
def update_artifact(artifact_id: uuid.UUID, body: ArtifactUpdate, request: Request, store: StoreDep) -> dict:
    row = queries.artifact_by_id(store, str(artifact_id))
    values: dict = {}
    if body.name is not None:
        values["name"] = checked_name(body.name, "an artifact name")
    if body.filename is not None:
        values["filename"] = safe_filename(body.filename)
        values["content_type"] = mimetypes.guess_type(values["filename"])[0] or "application/octet-stream"
    if body.object_name is not None:
        values["sha256"], values["size"], _ = resolve_object(store, body.object_name, row["experiment_id"])
    queries.update_artifact(store, row["id"], values)  # in place: the SDK keeps the artifact's id
    return artifact_out(request, store, queries.artifact_by_id(store, row["id"]))


@router.delete("/api/artifact/{artifact_id}", status_code=204, response_class=Response, responses=responses(404))
def delete_artifact(artifact_id: uuid.UUID, store: StoreDep) -> Response:
    row = queries.artifact_by_id(store, str(artifact_id))
    store.delete_artifact(row["experiment_id"], row["name"])
    return Response(status_code=204)
