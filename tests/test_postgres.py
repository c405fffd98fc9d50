"""The same store code on a real PostgreSQL server (a throwaway cluster started by the test).

Skipped only where PostgreSQL's server binaries are not installed (`.ci/run` installs them).
"""

from __future__ import annotations

import glob
import math
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np
import pytest
from live_process import free_port, trackboard_process
from trackboard import LogType, Project
from trackboard.backend import LocalBackend
from trackboard.store.sql import Store

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def as_postgres(*command: str) -> list[str]:
    # initdb and postgres refuse to run as root; run them as the postgres user when we are root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("psycopg")
    if not BIN:
        pytest.skip("PostgreSQL server binaries are not installed")
    bin_dir = BIN[-1]
    data = tempfile.mkdtemp(prefix="trackboard-pg-")
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    subprocess.run(as_postgres(f"{bin_dir}/initdb", "-D", data, "-U", "postgres", "--auth=trust"),
                   check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        as_postgres(f"{bin_dir}/postgres", "-D", data, "-p", str(port), "-h", "127.0.0.1", "-k", data),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            ready = subprocess.run([f"{bin_dir}/pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True)
            if ready.returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail("PostgreSQL did not start")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


def test_every_log_type_round_trips_on_postgres(postgres_url, tmp_path):
    store = Store(postgres_url, tmp_path / "blobs")
    backend = LocalBackend(store)
    project = Project(backend, store.create_project("pg"))
    experiment = project.create_experiment("run")
    row = store.get_experiment_by_id(experiment.id)
    experiment.log("loss", [1.0, float("nan"), float("inf")], LogType.LINE)
    experiment.log("loss", {"steps": [10, 10, 5], "values": [0.5, 0.4, 0.3], "epochs": [1, None, 2]}, "line")
    experiment.log("multi", {"a": 1.0, "b": 2.0, "steps": 3}, "line")
    experiment.log("accuracy", 0.9, LogType.VALUE)
    experiment.log("params", {"lr": 0.1, "nested": {"x": [1, 2]}}, LogType.TABLE)
    experiment.log("cm", {"categories": ["a", "b"], "values": [[1, 2], [3, 4]]}, LogType.HEATMAP)
    experiment.log("sample", np.zeros((2, 3), dtype=np.uint8), LogType.IMAGE)
    experiment.flush()

    loss = experiment.get_log("loss").data
    assert loss["steps"] == [0, 1, 2, 10, 10, 5]
    assert loss["values"][0] == 1.0 and math.isnan(loss["values"][1]) and loss["values"][2] == math.inf
    assert loss["epochs"] == [None, None, None, 1, None, 2]
    assert experiment.get_log("multi").data["b"]["values"] == [2.0]
    assert experiment.get_log("params").data == {"lr": 0.1, "nested": {"x": [1, 2]}}
    assert experiment.get_log("sample").data["content_type"] == "image/png"
    assert experiment.get_log("sample").read_bytes()[:4] == b"\x89PNG"
    assert {log.name for log in experiment.list_logs()} == {"loss", "multi", "accuracy", "params", "cm", "sample"}
    assert store.downsampled(row["id"], "loss", buckets=1)[""].values.size <= 6
    store.set_status(row["id"], "SUCCESS")
    assert store.get_experiment_by_id(row["id"])["status"] == "SUCCESS"


def test_tracking_server_runs_on_postgres(postgres_url, tmp_path):
    """`trackboard server --db postgresql+...`: the API code is the same; the remote client round-trips."""
    import sys

    import requests
    from trackboard import Client

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "trackboard.cli", *args], capture_output=True, text=True,
                              check=True, timeout=120)

    token = cli("token", "create", "pg-tests", "--db", postgres_url).stdout.strip().splitlines()[-1]
    with trackboard_process("server", "--db", postgres_url, "--blobs", str(tmp_path / "blobs"),
                            ready_path="/api/health") as url:
        client = Client(token, host=url, directory=tmp_path / "local")
        experiment = client.get_or_create_project("pg-server").create_experiment("run", parameters={"lr": 0.01})
        for step in range(1000):
            experiment.log("train", {"steps": step, "loss": 1 / (step + 1), "acc": step / 1000}, LogType.LINE)
        experiment.log("accuracy", float("nan"), LogType.VALUE)
        experiment.log("labelmap", ["cat", "dog"], LogType.LABELMAP)
        experiment.close()

        again = Client(token, host=url, directory=tmp_path / "local").get_project("pg-server").get_experiment("run")
        train = again.get_log("train").data
        assert train["loss"]["steps"] == list(range(1000)) and train["acc"]["values"][-1] == 0.999
        assert math.isnan(again.get_log("accuracy").data)
        assert again.get_parameters() == {"lr": 0.01}
        assert again.status == "SUCCESS"
        project_id = again.project.id
        assert requests.get(f"{url}/api/project/{project_id}", timeout=5).status_code == 401  # no token


def test_run_queries_give_the_same_runs_on_postgres(postgres_url, tmp_path):
    from query_cases import check_all, populate

    store = Store(postgres_url, tmp_path / "blobs")
    backend = LocalBackend(store)
    try:
        project = Project(backend, store.create_project("queries"))
        populate(project)
        check_all(project)  # the cases the SQLite store and the remote client pass too
        frame = project.experiments_frame("tags contains 'baseline'", order_by=["name"])
        assert list(frame["name"]) == ["bert-base", "bert-large"]
        assert list(frame["min.loss"]) == [0.3, 0.2]
    finally:
        backend.close()
