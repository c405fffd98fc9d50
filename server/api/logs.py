"""Logs, picsellia style: ``experiment.log / get_log / list_logs``, ``log.append / update / delete``.

Semantics where the SDK leaves them open follow trackboard's design: LINE appends (to a log of
another type it replaces it, as the SDK's default ``replace=True`` asks), every other type
replaces; ``raise_on_conflict`` (the SDK's ``replace=False``) answers 409 when the name exists. The
data goes through the core's normalisers, so a bad payload gets 400 naming the problem and nothing
is stored. Answers carry data as valid JSON (NaN and +-inf as strings); such strings, and the
null that JSON encoders write for NaN, are accepted back where a number is expected.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any, Mapping

import numpy as np
from fastapi import Query, Request, Response
from trackboard.errors import InvalidLogError, LogDataTypeError
from trackboard.jsonable import NON_FINITE
from trackboard.logtype import LogType
from trackboard.normalise import normalise
from trackboard.normalise.image import image_payload
from trackboard.records import ImagePayload, PendingPoints, Record
from trackboard.server.scope import check_blob
from trackboard.store.sql import Store
from trackboard.wire import safe_filename

from . import queries
from .bounds import canonical_line_work, check_line_work
from .deps import PageDep, StoreDep, api_router, checked_name, safe
from .errors import ApiError, responses
from .schemas import Ids, Items, LogAppend, LogIn, LogOut, LogUpdate
from .uploads import resolve_object

router = api_router(tags=["logs"])
EXPERIMENT = "/api/experiment/{experiment_id}"


# -- routes ----------------------------------------------------------------------------------


@router.post(f"{EXPERIMENT}/logs", response_model=LogOut, responses=responses(400, 404, 409))
def create_log(
    experiment_id: uuid.UUID, body: LogIn, request: Request, store: StoreDep,
    raise_on_conflict: bool = Query(False, description="409 if a log of that name exists (the SDK's replace=False)"),
) -> dict:
    experiment = store.get_experiment_by_id(str(experiment_id))
    name = checked_name(body.name)
    if raise_on_conflict and queries.log_head(store, experiment["id"], name) is not None:
        raise ApiError(409, f"a log named {name!r} already exists; log with replace=True to replace it")
    return write_log(store, experiment["id"], name, LogType.parse(body.type), body.data, "log", request)


@router.get(f"{EXPERIMENT}/logs/find", response_model=LogOut, responses=responses(404))
def find_log(experiment_id: uuid.UUID, store: StoreDep, name: str = Query(max_length=256)) -> dict:
    head = queries.log_head(store, str(experiment_id), name)
    if head is None:
        store.get_experiment_by_id(str(experiment_id))  # 404 names what is missing
        raise ApiError(404, f"no log named {name!r} in this experiment")
    return read_log(store, head["id"], str(experiment_id), name)


@router.get(f"{EXPERIMENT}/logs/extended", response_model=Items[LogOut], responses=responses(400, 404))
def list_logs(experiment_id: uuid.UUID, page: PageDep, store: StoreDep) -> dict:
    store.get_experiment_by_id(str(experiment_id))
    rows = store.list_logs(str(experiment_id))
    rows, count = page.apply(rows, ("name", "created_at", "updated_at"))
    return {"items": [read_log(store, row["id"], str(experiment_id), row["name"]) for row in rows], "count": count}


@router.get(f"{EXPERIMENT}/logs/ids", response_model=list[str], responses=responses(404))
def list_log_ids(experiment_id: uuid.UUID, store: StoreDep) -> list[str]:
    store.get_experiment_by_id(str(experiment_id))
    return queries.log_ids(store, str(experiment_id))


@router.delete(f"{EXPERIMENT}/logs", status_code=204, response_class=Response, responses=responses(404))
def delete_logs(experiment_id: uuid.UUID, body: Ids, store: StoreDep) -> Response:
    store.get_experiment_by_id(str(experiment_id))
    wanted = set(body.ids)
    for row in store.list_logs(str(experiment_id)):
        if row["id"] in wanted:
            store.delete_log(str(experiment_id), row["name"])
    return Response(status_code=204)


@router.get("/api/log/{log_id}", response_model=LogOut, responses=responses(404))
def get_log(log_id: uuid.UUID, store: StoreDep) -> dict:
    row = queries.log_by_id(store, str(log_id))
    return read_log(store, row["id"], row["experiment_id"], row["name"])


@router.patch("/api/log/{log_id}", response_model=LogOut, responses=responses(400, 404, 409))
def update_log(log_id: uuid.UUID, body: LogUpdate, store: StoreDep) -> dict:
    row = queries.log_by_id(store, str(log_id))
    name = row["name"]
    log_type = LogType(row["type"])
    if body.data is not None and log_type is LogType.IMAGE:
        raise ApiError(400, "an IMAGE log's data is replaced by logging the image again")
    if body.name is not None and body.name != name:
        name = checked_name(body.name)
        queries.rename_log(store, row["id"], name)
    if body.data is None:
        return read_log(store, row["id"], row["experiment_id"], name)
    return write_log(store, row["experiment_id"], name, log_type, body.data, "update")


@router.post("/api/log/{log_id}/append", response_model=LogOut, responses=responses(400, 404))
def append_to_log(log_id: uuid.UUID, body: LogAppend, store: StoreDep) -> dict:
    row = queries.log_by_id(store, str(log_id))
    if row["type"] != LogType.LINE.value:
        raise ApiError(400, f"only LINE logs can be appended to; {row['name']!r} is a {row['type']}")
    return write_log(store, row["experiment_id"], row["name"], LogType.LINE, body.data, "append")


@router.delete("/api/log/{log_id}", status_code=204, response_class=Response, responses=responses(404))
def delete_log(log_id: uuid.UUID, store: StoreDep) -> Response:
    row = queries.log_by_id(store, str(log_id))
    store.delete_log(row["experiment_id"], row["name"])
    return Response(status_code=204)


# -- writing and reading one log ---------------------------------------------------------------


def write_log(store: Store, experiment_id: str, name: str, log_type: LogType, data: Any, mode: str,
              request: Request | None = None) -> dict:
    """Validate, store in one transaction, and answer the log (``mode``: log, append or update)."""
    if log_type is LogType.IMAGE:
        canonical: Any = _image(store, experiment_id, name, data, request)
    else:
        canonical = _normalise(name, log_type, data)
        if log_type is LogType.LINE:
            check_line_work(*canonical_line_work(canonical))
    head = queries.log_head(store, experiment_id, name)
    replace = (
        mode == "update"
        or log_type is not LogType.LINE
        or (head is not None and head["type"] != LogType.LINE.value)
    )
    record = Record(experiment_id, name, log_type, canonical, replace, time.time())
    failures = store.apply([record])
    if failures:
        raise failures[0][1]  # a TrackboardError: ApiRoute answers 400/404/409 with its message
    head = queries.log_head(store, experiment_id, name)
    if log_type is LogType.LINE:
        payload = _appended(record, queries.last_steps(store, head["id"]))
    elif log_type is LogType.IMAGE:
        payload = canonical.meta
    else:
        payload = canonical
    return {"id": head["id"], "name": name, "type": log_type.value, "data": safe(payload)}


def read_log(store: Store, log_id: str, experiment_id: str, name: str) -> dict:
    log_type, data = store.get_log(experiment_id, name)
    return {"id": log_id, "name": name, "type": log_type.value, "data": safe(data)}


def _normalise(name: str, log_type: LogType, data: Any) -> Any:
    try:
        return normalise(name, log_type, data)
    except (InvalidLogError, LogDataTypeError) as error:
        # "NaN"/"Infinity" strings are how answers spell non-finite numbers: accept them back.
        restored = _restore_non_finite(data)
        if restored is data:
            raise
        try:
            return normalise(name, log_type, restored)
        except (InvalidLogError, LogDataTypeError):
            raise error from None


def _restore_non_finite(data: Any) -> Any:
    """``data`` with "NaN"/"Infinity"/"-Infinity" strings as floats, and null as NaN.

    JSON has no NaN: answers spell it "NaN", and the SDK's encoder (orjson, like JavaScript's)
    writes null for NaN and +-inf. Tried only when the data as sent does not validate.
    Returns the same object when there is nothing to restore.
    """
    if data is None:
        return math.nan
    if isinstance(data, str):
        return NON_FINITE.get(data, data)
    if isinstance(data, list):
        items = [_restore_non_finite(item) for item in data]
        return data if all(a is b for a, b in zip(items, data)) else items
    if isinstance(data, dict):
        items = {key: _restore_non_finite(value) for key, value in data.items()}
        return data if all(items[key] is data[key] for key in data) else items
    return data


def _image(store: Store, experiment_id: str, name: str, data: Any, request: Request | None = None) -> ImagePayload:
    """An IMAGE from an uploaded object (the SDK's flow) or from a stored image's metadata."""
    if not isinstance(data, Mapping):
        # Never a path or URL: nothing in a request may name a file on this machine.
        raise LogDataTypeError(f"IMAGE {name!r}: data must be the uploaded object {{'object_name': ...}} "
                               "or a stored image's metadata")
    if "object_name" not in data:
        payload = normalise(name, LogType.IMAGE, data)
        if request is not None:
            check_blob(request, store, payload.meta["sha256"])  # a digest alone shows nothing out of scope
        return payload
    object_name = data["object_name"]
    if not isinstance(object_name, str):
        raise LogDataTypeError(f"IMAGE {name!r}: 'object_name' must be a string")
    sha256, _size, filename = resolve_object(store, object_name, experiment_id)
    content = store.blobs.read(sha256)
    try:
        meta, _ = image_payload(content, safe_filename(data.get("filename") or filename, "image"), default_stem=name)
    except (InvalidLogError, LogDataTypeError) as error:
        raise type(error)(f"IMAGE {name!r}: {error}") from None
    return ImagePayload(meta, None)  # the bytes are already a blob


def _appended(record: Record, last_steps: dict[str, float | None]) -> dict:
    """The canonical data of the points ``record`` added (steps as the store assigned them)."""
    columns = PendingPoints()
    columns.add(record.data, record.time)
    out = {}
    for name, series in columns.items():
        steps, values, times, epochs = series.arrays()  # NaN steps: assigned; NaN epochs: none
        n = len(values)
        if np.isnan(steps[0]):  # a record's steps are all given or all assigned: these end at last_step
            last = last_steps.get(name or "") or 0.0
            steps = last - n + 1 + np.arange(n, dtype=np.float64)
        points = {"steps": [_step(step) for step in steps.tolist()], "values": values.tolist(), "times": times.tolist()}
        if not np.isnan(epochs).all():
            points["epochs"] = [None if math.isnan(epoch) else int(epoch) for epoch in epochs.tolist()]
        out[name] = points
    return out[None] if None in out else out


def _step(step: float | int | None) -> int | float | None:
    return int(step) if isinstance(step, float) and step.is_integer() else step
