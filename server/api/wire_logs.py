"""trackboard's own reads: logs by name in the wire encoding, log kinds, image bytes.

The picsellia routes answer data as JSON where NaN is the string "NaN"; trackboard's client needs
its data back exactly (a VALUE of NaN is not the string "NaN"), so these routes answer LINE points
as packed float64 columns and other data as JSON text with bare NaN/Infinity (``trackboard.wire``).
"""

from __future__ import annotations

import uuid

from fastapi import Path, Query, Request, Response
from fastapi.responses import FileResponse

from trackboard.errors import NotFoundError
from trackboard.logtype import LogType
from trackboard.server.scope import check_blob
from trackboard.wire import dumps_data, pack_points

from . import queries
from .deps import StoreDep, api_router
from .errors import ApiError, responses
from .schemas import Exists, Kinds, LogRow, WireLog
from .uploads import blob_response

router = api_router(tags=["trackboard"])
EXPERIMENT = "/api/trackboard/experiments/{experiment_id}"
Sha256 = Path(pattern="^[0-9a-f]{64}$", description="the image's sha256 digest")


@router.get(f"{EXPERIMENT}/kinds", response_model=Kinds, responses=responses(404))
def log_kinds(experiment_id: uuid.UUID, store: StoreDep) -> dict:
    store.get_experiment_by_id(str(experiment_id))
    kinds = store.log_kinds(str(experiment_id))
    return {"kinds": {name: {"type": kind.value, "named": named} for name, (kind, named) in kinds.items()}}


@router.get(f"{EXPERIMENT}/logs", response_model=list[LogRow], responses=responses(404))
def list_logs(experiment_id: uuid.UUID, store: StoreDep) -> list[dict]:
    store.get_experiment_by_id(str(experiment_id))
    return [{**row, "type": row["type"].value} for row in store.list_logs(str(experiment_id))]


@router.get(f"{EXPERIMENT}/log", response_model=WireLog, responses=responses(404))
def get_log(experiment_id: uuid.UUID, store: StoreDep, name: str = Query(max_length=256)) -> dict:
    head = _head(store, str(experiment_id), name)
    out = {"id": head["id"], "name": name, "type": head["type"]}
    if head["type"] == LogType.LINE.value:
        out["series"] = pack_points(store.get_points(str(experiment_id), name))
    else:
        out["data_json"] = dumps_data(store.get_log(str(experiment_id), name)[1])
    return out


@router.delete(f"{EXPERIMENT}/log", status_code=204, response_class=Response, responses=responses(404))
def delete_log(experiment_id: uuid.UUID, store: StoreDep, name: str = Query(max_length=256)) -> Response:
    _head(store, str(experiment_id), name)
    store.delete_log(str(experiment_id), name)
    return Response(status_code=204)


@router.get("/api/trackboard/blobs/{sha256}", response_class=FileResponse, responses={
    200: {"content": {"application/octet-stream": {}}}, **responses(404)})
def get_blob(request: Request, store: StoreDep, sha256: str = Sha256) -> FileResponse:
    check_blob(request, store, sha256)
    return blob_response(store, sha256, sha256)


@router.get("/api/trackboard/blobs/{sha256}/exists", response_model=Exists)
def blob_exists(request: Request, store: StoreDep, sha256: str = Sha256) -> dict:
    try:
        check_blob(request, store, sha256)
    except NotFoundError:
        return {"exists": False}
    return {"exists": store.blobs.exists(sha256)}


def _head(store, experiment_id: str, name: str) -> dict:
    head = queries.log_head(store, experiment_id, name)
    if head is None:
        store.get_experiment_by_id(experiment_id)
        raise ApiError(404, f"no log named {name!r} in this experiment")
    return head
