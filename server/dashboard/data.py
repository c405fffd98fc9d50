"""The dashboard's JSON endpoints (under ``/ui/data``), read by the pages' JavaScript.

Responses are serialised here with ``allow_nan=False`` (NaN and inf become strings through
``json_safe``, or null in chart arrays) instead of FastAPI's encoder, which walks every value of a
thousand-row table in Python and would dominate the project page's response time.
"""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any, Iterable, Iterator

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Connection

from trackboard.errors import NotFoundError
from trackboard.jsonable import json_safe
from trackboard.logtype import LogType
from trackboard.store.charts import read_charts
from trackboard.store.engine import read_transaction
from trackboard.store.sql import Store, experiment_row, project_row
from trackboard.store.storage import NOTHING, sizes, sizes_of

from ..auth import require_token
from ..blobs import blob_response
from ..scope import principal, visible
from . import queries, sweep
from .answers import Answers
from .jsontext import json_text, json_text_response
from .series import chart_json, clamp_buckets, clamp_smoothing, series_json, smooth

router = APIRouter(prefix="/ui/data", dependencies=[Depends(require_token)], include_in_schema=False)

MAX_COMPARED = 50  # experiments in one compare view
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"}


def json_response(data: Any, *, safe: bool = False) -> Response:
    """Strict JSON; ``safe=True`` when the data is known to hold no NaN/inf (skips a full walk)."""
    return json_text_response(json_text(data if safe else json_safe(data)))


def _json_object(fields: dict, encoded: dict[str, str]) -> str:
    """A JSON object of ``fields`` and of members whose values are already JSON text (kept answers)."""
    parts = [json_text(json_safe(fields))[1:-1]] if fields else []
    parts += [f"{json_text(key)}:{text}" for key, text in encoded.items()]
    return "{" + ",".join(parts) + "}"


def _store(request: Request) -> Store:
    return request.app.state.store


def _not_found(error: NotFoundError) -> HTTPException:
    return HTTPException(status_code=404, detail=str(error))


def _experiment(store: Store, experiment_id: str) -> dict:
    try:
        return store.get_experiment_by_id(experiment_id)
    except NotFoundError as error:
        raise _not_found(error) from None


def _log(store: Store, experiment_id: str, name: str) -> dict:
    row = queries.find_log(store.engine, experiment_id, name)
    if row is None:
        raise _no_log(store, experiment_id, name)
    return row


def _no_log(store: Store, experiment_id: str, name: str) -> HTTPException:
    _experiment(store, experiment_id)  # a 404 that names the experiment when that is what is missing
    return HTTPException(status_code=404, detail=f"no log named {name!r} in this experiment")


# -- projects -----------------------------------------------------------------------------------


@router.get("/projects")
def projects(request: Request) -> Response:
    """Every project with its experiment counts (their sizes: ``/storage``, which takes longer)."""
    summaries = visible(request, queries.project_summaries(_store(request).engine))
    return json_response({"projects": summaries, "now": time.time()})


@router.get("/storage")
def storage(request: Request) -> Response:
    """Each visible project's size (points, blob bytes): the projects page fills its cards with it."""
    engine = _store(request).engine
    held = sizes(engine).projects
    return json_response({"projects": {row["id"]: held.get(row["id"], NOTHING).as_dict()
                                       for row in visible(request, _store(request).list_projects())}})


@router.get("/projects/{project_id}")
def project(
    request: Request,
    project_id: str,
    offset: int = Query(0, ge=0),
    limit: int | None = Query(None, ge=1),
    fields: str | None = Query(None),
) -> Response:
    """A project and a row per experiment (values, last LINE values, parameters), newest first.

    ``offset``/``limit`` page the rows (``total`` says how many there are); ``fields`` is a comma
    list of the columns to send (``v:accuracy,l:train/loss,p:lr``), the others are left out.
    """
    chosen = None if fields is None else {f for f in fields.split(",") if f}
    with read_transaction(_store(request).engine) as conn:  # one snapshot for the whole answer
        try:
            row = project_row(conn, project_id)
        except NotFoundError as error:
            raise _not_found(error) from None
        rows = queries.project_experiments(conn, queries.Chosen.of_project(project_id, offset, limit), fields=chosen)
        total = len(rows) if not offset and limit is None else queries.count_experiments(conn, project_id)
        if offset + len(rows) >= total:
            # Summing a large project's storage takes a while: the first page of its rows is painted
            # without it, the answer that completes the rows brings it. (Each run's size: /api/.../storage.)
            row["size"] = sizes_of(conn, project_id).projects.get(project_id, NOTHING).as_dict()
    return json_response({"project": row, "experiments": rows, "total": total, "offset": offset, "now": time.time()})


# -- one experiment -----------------------------------------------------------------------------


@router.get("/experiments/{experiment_id}")
def experiment(request: Request, experiment_id: str) -> Response:
    """What the experiment page needs first, and what it polls while the run is going.

    Log data is not included (panels fetch their own when they scroll into view); each log comes
    with a version so that a poll tells which panels to refetch.
    """
    with read_transaction(_store(request).engine) as conn:  # one snapshot for the whole answer
        try:
            row = experiment_row(conn, experiment_id)
        except NotFoundError as error:
            raise _not_found(error) from None
        answer = {
            "experiment": row,
            "project": {"id": row["project_id"], "name": project_row(conn, row["project_id"])["name"]},
            "logs": queries.log_versions(conn, experiment_id),
            "values": queries.experiment_values(conn, experiment_id),
            "artifacts": queries.artifact_rows(conn, experiment_id),
            "size": sizes_of(conn, experiment_id=experiment_id).experiments.get(experiment_id, NOTHING).as_dict(),
        }
    return json_response({**answer, "now": time.time()})


@router.get("/experiments/{experiment_id}/log")
def log(request: Request, experiment_id: str, name: str = Query(...)) -> Response:
    """A non-LINE log's canonical data (LINE logs are read through ``/series``)."""
    store = _store(request)
    row = _log(store, experiment_id, name)
    if row["type"] == LogType.LINE.value:
        raise HTTPException(status_code=400, detail=f"log {name!r} is a LINE: read it from /series")
    return json_response({"name": name, "type": row["type"], "data": json.loads(row["data"])})


@router.get("/experiments/{experiment_id}/series")
def series(
    request: Request,
    experiment_id: str,
    name: str = Query(...),
    buckets: int | None = Query(None),
    step_min: float | None = Query(None),
    step_max: float | None = Query(None),
    smoothing: float | None = Query(None, ge=0, le=1),
    x: str | None = Query(None, description="step (default), epoch, time or relative"),
) -> Response:
    """A LINE log's series, downsampled to ``buckets`` runs, optionally within a step range.

    With ``smoothing`` (0-1, TensorBoard's weight) each series also carries ``smoothed`` values,
    computed on the whole full-resolution series before the range is cut and points are left out.
    """
    store = _store(request)
    with read_transaction(store.engine) as conn:  # the log's version and its chart from one snapshot
        series_text = _kept_series(request, conn, _line_log(conn, store, experiment_id, name), buckets,
                                   step_min, step_max, smoothing, x)
    return json_text_response(_json_object(_series_fields(name, step_min, step_max, smoothing), {"series": series_text}))


def _line_log(conn: Connection, store: Store, experiment_id: str, name: str) -> queries.NamedLog:
    found = queries.logs_named(conn, [experiment_id], name).get(experiment_id)
    if found is None:
        raise _no_log(store, experiment_id, name)
    if found.type != LogType.LINE.value:
        raise HTTPException(status_code=400, detail=f"log {name!r} is a {found.type}, not a LINE")
    return found


def _series_fields(name: str, step_min: float | None, step_max: float | None, smoothing: float | None) -> dict:
    return {
        "name": name,
        "range": None if step_min is None and step_max is None else [step_min, step_max],
        "smoothing": clamp_smoothing(smoothing),
    }


def _kept_series(request: Request, conn: Connection, log: queries.NamedLog, buckets: int | None,
                 step_min: float | None, step_max: float | None, smoothing: float | None, x: str | None) -> str:
    """The JSON text of a LINE log's chart series, computed once per version of the log (``answers``).

    ``conn`` is the transaction ``log``'s version was read in: the answer kept is that version's."""
    answers: Answers = request.app.state.answers
    return answers.get_or_compute(
        (log.id, buckets, step_min, step_max, smoothing, x), log.version,
        lambda: json_text(_chart_series(conn, _store(request), log.id, buckets, step_min, step_max, smoothing, x)))


def _chart_series(conn: Connection, store: Store, log_id: str, buckets: int | None, step_min: float | None,
                  step_max: float | None, smoothing: float | None, x: str | None) -> list[dict]:
    """Each series of a LINE log as the chart shows it (``_series_fields`` says how it was asked for)."""
    size = clamp_buckets(buckets)
    weight = clamp_smoothing(smoothing)
    x = sweep.check_x(x)
    out = []
    if x != "step":  # another x axis (sweep.py): steps replaced by epochs or times, the step range kept
        for series_name, xs, values, total in sweep.x_series(conn, log_id, step_min, step_max, x):
            out.append(series_json(series_name, xs, values, total, size, smooth(values, weight) if weight else None))
    elif not weight:
        out += [chart_json(chart) for chart in read_charts(conn, log_id, step_min, step_max, size,
                                                            kept=store.kept_chunks)]
    else:
        # The average at a step depends on every point before it: smooth the whole series, then cut.
        for series_name, steps, values, total in queries.read_series(conn, log_id, None, None):
            smoothed = smooth(values, weight)
            keep = queries.in_step_range(steps, step_min, step_max)
            if keep is not None:
                steps, values, smoothed = steps[keep], values[keep], smoothed[keep]
            out.append(series_json(series_name, steps, values, total, size, smoothed))
    return out


@router.get("/experiments/{experiment_id}/series.csv")
def series_csv(request: Request, experiment_id: str, name: str = Query(...)) -> Response:
    """A LINE log at full resolution as CSV (series, step, value, time, epoch), for a download."""
    store = _store(request)
    with read_transaction(store.engine) as conn:
        log = _line_log(conn, store, experiment_id, name)
    experiment = _experiment(store, experiment_id)
    rows = queries.series_csv_rows(store.engine, {experiment["name"]: log.id})
    return csv_response(rows, ["experiment", "series", "step", "value", "time", "epoch"], f"{name}.csv")


def csv_response(rows: Iterable[list], header: list[str], filename: str) -> StreamingResponse:
    """Rows as a CSV download, written as they are read (a million points never sit in memory as text)."""

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for i, row in enumerate(rows):
            writer.writerow(row)
            if i % 5000 == 4999:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in filename) or "data.csv"
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{safe_name}"', "Cache-Control": "no-store",
    })


def _image_log(store: Store, experiment_id: str, name: str) -> dict:
    row = _log(store, experiment_id, name)
    if row["type"] != LogType.IMAGE.value:
        raise HTTPException(status_code=400, detail=f"log {name!r} is a {row['type']}, not an IMAGE")
    return row


@router.get("/experiments/{experiment_id}/images")
def images(request: Request, experiment_id: str, name: str = Query(...)) -> Response:
    """Every image logged under an IMAGE log's name, oldest first (the last one is the log's data)."""
    store = _store(request)
    _image_log(store, experiment_id, name)
    return json_response({"name": name, "images": store.image_history(experiment_id, name)})


@router.get("/experiments/{experiment_id}/image")
def image(request: Request, experiment_id: str, name: str = Query(...), seq: int | None = Query(None)) -> Response:
    """An IMAGE log's bytes (the latest, or the ``seq``-th logged), with the content type checked when logged."""
    store = _store(request)
    row = _image_log(store, experiment_id, name)
    meta = json.loads(row["data"])
    if seq is not None:
        found = [image for image in store.image_history(experiment_id, name) if image["seq"] == seq]
        if not found:
            raise HTTPException(status_code=404, detail=f"IMAGE {name!r} has no image number {seq}")
        meta = found[0]
    content_type = meta.get("content_type") if meta.get("content_type") in IMAGE_TYPES else "application/octet-stream"
    return _blob(store, meta["sha256"], content_type, filename=None)


@router.get("/experiments/{experiment_id}/artifact")
def artifact(request: Request, experiment_id: str, name: str = Query(...)) -> Response:
    """An artifact as a download (never shown inline: an HTML artifact must not run as a page)."""
    store = _store(request)
    try:
        row = store.get_artifact(experiment_id, name)
    except NotFoundError as error:
        raise _not_found(error) from None
    return _blob(store, row["sha256"], "application/octet-stream", filename=row["filename"])


def _blob(store: Store, sha256: str, content_type: str, filename: str | None) -> Response:
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    try:
        return blob_response(store, sha256, content_type, filename, headers)
    except NotFoundError as error:
        raise _not_found(error) from None


# -- compare ------------------------------------------------------------------------------------


def _ids(request: Request, ids: str) -> list[str]:
    chosen = list(dict.fromkeys(i for i in (part.strip() for part in ids.split(",")) if i))
    if not chosen:
        raise HTTPException(status_code=400, detail="no experiment ids")
    if len(chosen) > MAX_COMPARED:
        raise HTTPException(status_code=400, detail=f"at most {MAX_COMPARED} experiments can be compared")
    if principal(request).projects is not None:  # a scoped token: others are as if they did not exist
        with read_transaction(_store(request).engine) as conn:
            rows = queries.experiments_by_id(conn, chosen)
        shown = {row["project_id"] for row in visible(request, (
            _store(request).get_project_by_id(pid) for pid in {row["project_id"] for row in rows}))}
        allowed = {row["id"] for row in rows if row["project_id"] in shown}
        chosen = [i for i in chosen if i in allowed]
    return chosen


@router.get("/compare")
def compare(request: Request, ids: str = Query(...)) -> Response:
    """The chosen experiments with their values, parameters and LINE log names."""
    store = _store(request)
    chosen = _ids(request, ids)
    with read_transaction(store.engine) as conn:
        rows = queries.experiments_by_id(conn, chosen)
    projects = {row["project_id"] for row in rows}
    names = {p["id"]: p["name"] for p in (store.get_project_by_id(p) for p in projects)}
    for row in rows:
        row["project_name"] = names[row["project_id"]]
    return json_response({"experiments": rows, "now": time.time()})


@router.get("/compare/series")
def compare_series(
    request: Request,
    ids: str = Query(...),
    name: str = Query(...),
    buckets: int | None = Query(None),
    step_min: float | None = Query(None),
    step_max: float | None = Query(None),
    smoothing: float | None = Query(None, ge=0, le=1),
    x: str | None = Query(None, description="step (default), epoch, time or relative"),
) -> Response:
    """One LINE log of several experiments, each downsampled (and smoothed) like ``/series``."""
    store = _store(request)
    chosen = _ids(request, ids)
    with read_transaction(store.engine) as conn:  # the logs' versions and their charts from one snapshot
        logs = queries.line_logs_of(conn, chosen, name)
        experiments = _json_object({}, {experiment_id: _kept_series(request, conn, logs[experiment_id], buckets,
                                                                    step_min, step_max, smoothing, x)
                                        for experiment_id in chosen if experiment_id in logs})
    return json_text_response(_json_object(_series_fields(name, step_min, step_max, smoothing), {"experiments": experiments}))


@router.get("/compare/series.csv")
def compare_series_csv(request: Request, ids: str = Query(...), name: str = Query(...)) -> Response:
    """One LINE log of several experiments at full resolution as CSV."""
    store = _store(request)
    chosen = _ids(request, ids)
    with read_transaction(store.engine) as conn:
        logs = queries.line_logs_of(conn, chosen, name)
        names = {row["id"]: row["name"] for row in queries.experiments_by_id(conn, chosen)}
    by_name = {names[i]: logs[i].id for i in chosen if i in logs and i in names}
    return csv_response(queries.series_csv_rows(store.engine, by_name), ["experiment", "series", "step", "value", "time", "epoch"], f"{name}.csv")
