"""Storage accounting and garbage collection.

Sizes: an experiment's LINE points (the ``series.count`` sums) and the bytes of the distinct blobs
its IMAGE logs and artifacts refer to; a project counts each distinct blob once.

Garbage collection: deleting a project, experiment, log or artifact removes rows at once; the
blobs are content-addressed and may be shared, so ``collect_garbage`` deletes a blob only once no
log, artifact or pending upload refers to it. A blob younger than ``grace_s`` is kept: it may have
been written for a log or upload whose row is not committed yet (a write refreshes its age).
"""

from __future__ import annotations

import functools
import json
import time
from typing import NamedTuple

import sqlalchemy as sa

from . import schema as t
from .engine import read_transaction, write_transaction


PENDING_UPLOAD_S = 86400.0  # an object name whose bytes never came is forgotten after a day


class Size(NamedTuple):
    points: int
    blob_bytes: int

    def as_dict(self) -> dict[str, int]:
        return {"points": self.points, "blob_bytes": self.blob_bytes}


NOTHING = Size(0, 0)


class GcResult(NamedTuple):
    deleted: int  # blobs deleted
    freed_bytes: int
    kept: int  # blobs still referred to, or too young to judge


class Sizes(NamedTuple):
    projects: dict[str, Size]  # project id -> Size (a blob its experiments share counted once)
    experiments: dict[str, Size]


def sizes(engine: sa.Engine, project_id: str | None = None, experiment_id: str | None = None) -> Sizes:
    """The sizes of one experiment, of one project and its experiments, or of everything.

    One query whatever the number of experiments: per experiment, its points and the distinct
    blobs it refers to; the sums are made here. Experiments and projects holding nothing are absent.
    """
    with read_transaction(engine) as conn:
        return sizes_of(conn, project_id, experiment_id)


def sizes_of(conn: sa.Connection, project_id: str | None = None, experiment_id: str | None = None) -> Sizes:
    """``sizes`` within a transaction already open (a page's reads share one snapshot)."""
    statement = _sizes_query(project_id is not None, experiment_id is not None)
    chosen = {"project_id": project_id, "experiment_id": experiment_id}
    by_experiment: dict[str, list[int]] = {}
    by_project: dict[str, list[int]] = {}
    project_blobs: dict[str, dict[str, int]] = {}
    for project, experiment, sha256, amount in conn.execute(statement, {k: v for k, v in chosen.items() if v is not None}):
        totals = by_experiment.setdefault(experiment, [0, 0])
        by_project.setdefault(project, [0, 0])
        if sha256 is None:
            totals[0] += int(amount or 0)
            by_project[project][0] += int(amount or 0)
        else:
            totals[1] += int(amount)
            project_blobs.setdefault(project, {})[sha256] = int(amount)
    for project, distinct in project_blobs.items():
        by_project[project][1] = sum(distinct.values())
    return Sizes({key: Size(*value) for key, value in by_project.items()},
                 {key: Size(*value) for key, value in by_experiment.items()})


@functools.cache
def _sizes_query(by_project: bool, by_experiment: bool) -> sa.CompoundSelect:
    """The statement of ``sizes``, built once per filter (it is polled by every dashboard page)."""
    e = t.experiments
    where = [e.c.project_id == sa.bindparam("project_id")] if by_project else []
    if by_experiment:
        where.append(e.c.id == sa.bindparam("experiment_id"))
    images = sa.select(t.logs.c.experiment_id, t.logs.c.blob_sha256.label("sha256"), t.logs.c.blob_size.label("size")) \
        .where(t.logs.c.blob_sha256.is_not(None))
    h = t.image_history
    earlier_images = sa.select(t.logs.c.experiment_id, h.c.blob_sha256.label("sha256"), h.c.blob_size.label("size")) \
        .select_from(h.join(t.logs, t.logs.c.id == h.c.log_id)).where(h.c.blob_sha256.is_not(None))
    files = sa.select(t.artifacts.c.experiment_id, t.artifacts.c.sha256, t.artifacts.c.size)
    refs = sa.union(images, earlier_images, files).subquery()  # UNION: one row per distinct blob per experiment
    points = (
        sa.select(e.c.project_id, e.c.id, sa.null().label("sha256"), sa.func.sum(t.series.c.count))
        .select_from(t.series.join(t.logs, t.logs.c.id == t.series.c.log_id).join(e, e.c.id == t.logs.c.experiment_id))
        .where(*where).group_by(e.c.project_id, e.c.id)
    )
    blobs = sa.select(e.c.project_id, e.c.id, refs.c.sha256, refs.c.size) \
        .select_from(refs.join(e, e.c.id == refs.c.experiment_id)).where(*where)
    return sa.union_all(points, blobs)


def referenced_blobs(conn: sa.Connection, uploads_since: float, among: list[str] | None = None) -> set[str]:
    """The digests (of ``among``, or all) that a log (its image history too) or an artifact refers to, or that an upload
    made since ``uploads_since`` holds (the SDK names an upload in a log right after sending it)."""
    queries = [
        sa.select(t.logs.c.blob_sha256).where(t.logs.c.blob_sha256.is_not(None)),
        sa.select(t.image_history.c.blob_sha256).where(t.image_history.c.blob_sha256.is_not(None)),
        sa.select(t.artifacts.c.sha256),
        sa.select(t.uploads.c.sha256).where(t.uploads.c.sha256.is_not(None), t.uploads.c.created_at >= uploads_since),
    ]
    found: set[str] = set()
    for query in queries:
        column = query.selected_columns[0]
        if among is not None:
            query = query.where(column.in_(among))
        found.update(row[0] for row in conn.execute(query.distinct()))
    # An IMAGE log written by code older than revision 0002 (a 0.1.0 process still running on an
    # upgraded store) has no blob column: its JSON names the blob.
    unfilled = sa.select(t.logs.c.data).where(t.logs.c.type == "IMAGE", t.logs.c.blob_sha256.is_(None))
    for (data,) in conn.execute(unfilled):
        sha256 = json.loads(data).get("sha256")
        if among is None or sha256 in among:
            found.add(sha256)
    return found


def collect_garbage(store, grace_s: float = 3600.0) -> GcResult:
    """Delete the blobs nothing refers to (and that are older than ``grace_s``) from ``store.blobs``."""
    now = time.time()
    with read_transaction(store.engine) as conn:
        referenced = referenced_blobs(conn, now - grace_s)
    kept, candidates = 0, []
    for blob in store.blobs.iter_blobs():
        if blob.sha256 in referenced or now - blob.modified < grace_s:
            kept += 1
        else:
            candidates.append(blob)
    deleted = freed = 0
    for start in range(0, len(candidates), 500):
        batch = candidates[start:start + 500]
        # Checked again just before deleting: a log may have come to refer to one meanwhile.
        with read_transaction(store.engine) as conn:
            again = referenced_blobs(conn, now - grace_s, [blob.sha256 for blob in batch])
        for blob in batch:
            if blob.sha256 in again:
                kept += 1
                continue
            store.blobs.delete(blob.sha256)
            deleted, freed = deleted + 1, freed + blob.size
    store.blobs.remove_stale_partials(grace_s)
    with write_transaction(store.engine) as conn:  # uploads that were never named in a log or artifact
        u = t.uploads.c
        named = sa.or_(
            sa.exists().where(t.logs.c.blob_sha256 == u.sha256),
            sa.exists().where(t.image_history.c.blob_sha256 == u.sha256),
            sa.exists().where(t.artifacts.c.sha256 == u.sha256),
        )
        conn.execute(t.uploads.delete().where(sa.or_(
            sa.and_(u.sha256.is_(None), u.created_at < now - max(grace_s, PENDING_UPLOAD_S)),  # never sent
            sa.and_(u.sha256.is_not(None), u.created_at < now - grace_s, ~named),
        )))
    return GcResult(deleted, freed, kept)
