"""trackboard's batched append: many logs per request, applied once per idempotency key.

The remote client sends everything its background writer drained as one batch (see
``trackboard.wire`` for the format). The logs are decoded and validated with the core's code,
then written by one ``Store.apply_once``: the key is recorded in the batch's own transaction, so a
batch retried after a lost answer (or replayed from a client's spool) is applied exactly once.

``ops`` come first: projects and experiments a client created while the server was unreachable.
They are idempotent by id (and by name), so they run on every attempt, and the answer maps the
ids the client chose to the ids the server uses. Status changes run after the logs.
"""

from __future__ import annotations

import os

from fastapi import Request

from trackboard.server.auth import Principal
from trackboard.logtype import LogType
from trackboard.server.scope import check_blob
from trackboard.server.scope import principal as principal_of

from trackboard.errors import AlreadyExistsError, NotFoundError, TrackboardError
from trackboard.store.sql import Store
from trackboard.wire import decode_entry

from .bounds import batch_line_work, check_line_work
from .deps import StoreDep, api_router, checked_name
from .errors import MAX_BODY, MiB, responses, status_for
from .schemas import BatchIn, BatchResult, ExperimentOp, ProjectOp, StatusOp

# Room for the largest IMAGE (64 MiB) as base64 in one batch; clients keep other batches far smaller.
MAX_BATCH_BYTES = int(os.environ.get("TRACKBOARD_MAX_BATCH_BYTES", 100 * MiB))
NAME_LIMIT = 256

router = api_router(tags=["trackboard"])


@router.post("/api/trackboard/batches", response_model=BatchResult, responses=responses(400, 413),
             openapi_extra={MAX_BODY: MAX_BATCH_BYTES}, summary="Apply a batch of logs once per idempotency key")
def post_batch(body: BatchIn, request: Request, store: StoreDep) -> dict:
    check_line_work(*batch_line_work(body.logs))
    who = principal_of(request)
    ids: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for op in body.ops:
        if isinstance(op, ProjectOp):
            _in_scope(who, op.name)
            ids[op.id] = ensure_project(store, op.id, op.name, op.description, op.if_exists)
        elif isinstance(op, ExperimentOp):
            _in_scope(who, op.project_name)
            ids[op.id], new_name = ensure_experiment(store, op, ids)
            if new_name is not None:
                renamed[ids[op.id]] = new_name

    refused: list[dict] = []
    records = []
    index_of: dict[int, int] = {}
    known: dict[str, bool] = {}
    for index, entry in enumerate(body.logs):
        experiment_id = ids.get(entry.experiment_id, entry.experiment_id)
        try:
            if experiment_id not in known:
                known[experiment_id] = _exists(store, experiment_id, who)
            if not known[experiment_id]:
                raise NotFoundError(f"no experiment with id {experiment_id[:64]!r}")
            checked_name(entry.name)
            record = decode_entry(entry.model_dump(), experiment_id)
            if record.type is LogType.IMAGE and record.data.content is None:
                check_blob(request, store, record.data.meta["sha256"])  # a digest alone shows nothing out of scope
        except TrackboardError as error:
            refused.append({"index": index, "status": status_for(error), "message": str(error)})
            continue
        index_of[id(record)] = index
        records.append(record)

    failures = store.apply_once(body.key, records)
    duplicate = failures is None
    for record, error in failures or ():
        refused.append({"index": index_of[id(record)], "status": status_for(error), "message": str(error)})

    for op in body.ops:
        if isinstance(op, StatusOp):
            experiment_id = ids.get(op.experiment_id, op.experiment_id)
            if _exists(store, experiment_id, who):
                store.set_status(experiment_id, op.status)
    refused.sort(key=lambda item: item["index"])
    applied = 0 if duplicate else len(records) - len(failures or ())
    return {"duplicate": duplicate, "applied": applied, "refused": refused, "ids": ids, "renamed": renamed}


def _exists(store: Store, experiment_id: str, who: Principal) -> bool:
    """Whether the experiment exists in a project the token may see."""
    try:
        experiment = store.get_experiment_by_id(experiment_id)
        return who.projects is None or who.sees(store.get_project_by_id(experiment["project_id"])["name"])
    except NotFoundError:
        return False


def _in_scope(who: Principal, project_name: str) -> None:
    if not who.sees(project_name):
        raise NotFoundError(f"no project named {project_name[:256]!r} for this token")


def ensure_project(store: Store, project_id: str, name: str, description: str | None, if_exists: str = "use") -> str:
    """The id of the project ``project_id``, else of the project named ``name``, else a new one."""
    name = checked_name(name, "a project name")
    try:
        return store.get_project_by_id(project_id)["id"]
    except NotFoundError:
        pass
    for _ in range(2):  # a second look when another request created it meanwhile
        try:
            existing = store.get_project(name)
        except NotFoundError:
            try:
                return store.create_project(name, description, project_id=project_id)["id"]
            except AlreadyExistsError:  # created meanwhile by another request: look again
                continue
        if if_exists == "fail":
            raise AlreadyExistsError(f"a project named {name!r} already exists")
        return existing["id"]
    raise AlreadyExistsError(f"a project named {name!r} already exists")


def ensure_experiment(store: Store, op: ExperimentOp, ids: dict[str, str]) -> tuple[str, str | None]:
    """(id, new name or None) of the experiment an offline client created as ``op``."""
    try:
        return store.get_experiment_by_id(op.id)["id"], None
    except NotFoundError:
        pass
    project_id = ensure_project(store, ids.get(op.project_id, op.project_id), op.project_name, None)
    name = checked_name(op.name, "an experiment name")
    for attempt in range(1, 1000):
        candidate = name if attempt == 1 else _numbered(name, attempt)
        try:
            existing = store.get_experiment(project_id, candidate)
        except NotFoundError:
            try:
                store.create_experiment(project_id, candidate, op.description, experiment_id=op.id)
                return op.id, None if attempt == 1 else candidate
            except AlreadyExistsError:  # created meanwhile: look again
                existing = store.get_experiment(project_id, candidate)
        if op.if_exists == "use":
            return existing["id"], None
        if op.if_exists == "fail":
            raise AlreadyExistsError(f"an experiment named {name!r} already exists in this project")
    raise AlreadyExistsError(f"could not find a free name for experiment {name!r}")


def _numbered(name: str, n: int) -> str:
    suffix = f" ({n})"
    return name[: NAME_LIMIT - len(suffix)] + suffix
