"""Hard delete and garbage collection on the embedded store: rows go at once, blobs once nothing
refers to them (``trackboard gc``); sizes count points and distinct blob bytes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from trackboard import LogType
from trackboard.store.storage import collect_garbage, sizes


def png(color: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (color, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def blob_files(store_dir) -> set[str]:
    return {path.name for path in (store_dir / "blobs").glob("??/*")}


@pytest.fixture
def store(client):
    return client._backend.store


def test_deleting_frees_rows_names_and_only_unshared_blobs(client, store_dir, store):
    project = client.get_or_create_project("gc")
    first, second = project.create_experiment("first"), project.create_experiment("second")
    shared, own = png(10), png(200)
    first.log("shared", shared, LogType.IMAGE)
    first.log("own", own, LogType.IMAGE)
    second.log("shared", shared, LogType.IMAGE)
    weights = store_dir.parent / "weights.bin"
    weights.write_bytes(os.urandom(5000))
    first.store("weights", weights)
    first.log("loss", list(np.linspace(1, 0, 250)), LogType.LINE)
    first.log("metrics", {"a": [1, 2], "b": [3]}, LogType.LINE)
    for experiment in (first, second):
        experiment.flush()

    held = sizes(store.engine, project.id)
    assert held.experiments[first.id] == (253, len(shared) + len(own) + 5000)
    assert held.experiments[second.id] == (0, len(shared))
    assert held.projects == {project.id: (253, len(shared) + len(own) + 5000)}  # the shared image counted once
    assert sizes(store.engine, experiment_id=second.id).experiments == {second.id: (0, len(shared))}
    assert sizes(store.engine).projects == held.projects
    assert len(blob_files(store_dir)) == 3

    first.close()
    client._backend.store.delete_experiment(first.id)
    assert [e.name for e in project.list_experiments()] == ["second"]
    assert project.create_experiment("first").name == "first"  # the name is free again
    result = collect_garbage(store, grace_s=0)
    assert (result.deleted, result.freed_bytes) == (2, len(own) + 5000)
    assert blob_files(store_dir) == {second.get_log("shared").data["sha256"]}
    assert second.get_log("shared").read_bytes() == shared

    second.delete_log("shared")
    assert collect_garbage(store, grace_s=0).deleted == 1
    assert blob_files(store_dir) == set()

    store.delete_project(project.id)
    assert client.get_or_create_project("gc").list_experiments() == []  # a new, empty project of that name


def test_replacing_an_image_frees_the_old_blob_but_young_blobs_wait(experiment, store_dir, store):
    experiment.log("sample", png(1), LogType.IMAGE)
    experiment.flush()
    old = experiment.get_log("sample").data["sha256"]
    experiment.log("sample", png(2), LogType.IMAGE, replace=True)
    experiment.flush()
    assert collect_garbage(store, grace_s=3600).deleted == 0  # too young to tell it from a log in flight
    assert old in blob_files(store_dir)
    past = time.time() - 7200
    os.utime(store_dir / "blobs" / old[:2] / old, (past, past))
    assert collect_garbage(store, grace_s=3600).deleted == 1
    assert blob_files(store_dir) == {experiment.get_log("sample").data["sha256"]}


def test_trackboard_gc_command(experiment, store_dir):
    experiment.log("sample", png(3), LogType.IMAGE)
    experiment.flush()
    experiment.delete_log("sample")
    run = subprocess.run([sys.executable, "-m", "trackboard.cli", "gc", "--dir", str(store_dir), "--grace", "0"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"deleted 1 unreferenced blobs ({len(png(3))} bytes)")
    assert blob_files(store_dir) == set()


def test_an_image_log_written_without_the_blob_columns_still_holds_its_blob(experiment, store_dir, store):
    """A 0.1.0 process still running on an upgraded store writes IMAGE logs without blob_sha256."""
    import sqlalchemy as sa

    from trackboard.store import schema

    experiment.log("sample", png(5), LogType.IMAGE)
    experiment.flush()
    with store.engine.begin() as conn:
        conn.execute(sa.update(schema.logs).values(blob_sha256=None, blob_size=None))
    past = time.time() - 7200
    sha256 = experiment.get_log("sample").data["sha256"]
    os.utime(store_dir / "blobs" / sha256[:2] / sha256, (past, past))
    assert collect_garbage(store, grace_s=3600).deleted == 0
    assert experiment.get_log("sample").read_bytes() == png(5)


def test_an_image_history_keeps_its_earlier_blobs_until_the_log_goes(client, store_dir, store):
    experiment = client.get_or_create_project("gc").create_experiment("history")
    frames = [png(color) for color in (30, 60, 90)]
    for frame in frames:  # logged again under one name: the dashboard's step slider shows all three
        experiment.log("samples", frame, LogType.IMAGE)
    experiment.flush()
    assert sizes(store.engine, experiment_id=experiment.id).experiments[experiment.id].blob_bytes == sum(map(len, frames))
    assert collect_garbage(store, grace_s=0).deleted == 0
    assert len(blob_files(store_dir)) == 3  # the two earlier images are referred to by the history alone

    experiment.delete_log("samples")
    assert collect_garbage(store, grace_s=0).deleted == 3
    assert blob_files(store_dir) == set()
