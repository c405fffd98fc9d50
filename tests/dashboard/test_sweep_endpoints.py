"""The JSON behind the dashboard's "find the best run" views, through FastAPI's TestClient on a real
store: series on another x axis, group curves with their bands, and every run's tags."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from dashhelpers import release
from trackboard import Client, LogType
from trackboard.server.app import create_app
from trackboard.server.auth import COOKIE, authenticate, create_session, create_token
from trackboard.store.sql import Store

T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sweep-endpoints")
    client = Client(directory=directory)
    project = client.get_or_create_project("sweep")
    ids = {}
    # Two learning rates x three seeds; seed s adds s to every loss point, so each group's mean is
    # its seed-1 curve, its min the seed-0 one, its max the seed-2 one and its std exactly 1.
    for lr in (0.1, 0.01):
        for seed in (0, 1, 2):
            run = project.create_experiment(f"lr{lr}-s{seed}", parameters={"lr": lr, "seed": seed})
            base = [10.0, 8.0, 6.0, 5.0] if lr == 0.1 else [10.0, 9.0, 8.0, 7.0]
            steps = [0, 1, 2, 3] if seed != 2 else [0, 1, 2]  # one run stops early
            run.log("loss", {"steps": steps, "values": [base[i] + seed for i in steps],
                             "times": [T0 + 10 * i + seed for i in steps], "epochs": [i // 2 for i in steps]}, LogType.LINE)
            tags = {(0.1, 0): ["baseline", "best"], (0.01, 1): ["baseline"]}.get((lr, seed))
            if tags:
                run.add_tags(*tags)
            run.close()
            ids[(lr, seed)] = run.id
    client.flush()
    release(directory)
    store = Store.at_directory(directory)
    app = create_app(store, require_token=False)
    with TestClient(app) as http:
        yield http, ids, project.id, store
    store.close()


def test_series_on_epoch_wall_time_and_relative_time_axes(sweep):
    http, ids, *_ = sweep
    run = ids[(0.1, 1)]
    by = {x: http.get(f"/ui/data/experiments/{run}/series", params={"name": "loss", **({"x": x} if x else {})}).json()["series"][0]
          for x in (None, "epoch", "time", "relative")}
    assert by[None]["steps"] == [0, 1, 2, 3]
    assert by["epoch"]["steps"] == [0, 0, 1, 1]
    assert by["time"]["steps"] == [T0 + 1, T0 + 11, T0 + 21, T0 + 31]
    assert by["relative"]["steps"] == [0, 10, 20, 30]
    assert all(s["values"] == [11.0, 9.0, 7.0, 6.0] for s in by.values())
    compared = http.get("/ui/data/compare/series", params={"ids": f"{run},{ids[(0.1, 0)]}", "name": "loss", "x": "relative"}).json()
    assert compared["experiments"][run][0]["steps"] == [0, 10, 20, 30]
    wrong = http.get(f"/ui/data/experiments/{run}/series", params={"name": "loss", "x": "bogus"})
    assert wrong.status_code == 400 and "x must be one of step, epoch, time, relative" in wrong.json()["detail"]


def test_group_curves_carry_mean_std_min_max_and_count(sweep):
    http, ids, *_ = sweep
    chosen = ",".join(ids[key] for key in sorted(ids))
    answer = http.get("/ui/data/compare/groups", params={"ids": chosen, "name": "loss", "by": "lr"}).json()
    groups = {g["key"]["lr"]: g for g in answer["groups"]}
    assert set(groups) == {0.1, 0.01} and all(g["runs"] == 3 and len(g["ids"]) == 3 for g in groups.values())
    curve = groups[0.1]["series"][0]
    assert curve["steps"] == [0, 1, 2, 3]
    assert curve["count"] == [3, 3, 3, 2]  # the early-stopped run has no step 3
    assert curve["mean"][:3] == [11.0, 9.0, 7.0] and curve["mean"][3] == pytest.approx(5.5)
    assert curve["min"] == [10.0, 8.0, 6.0, 5.0] and curve["max"] == [12.0, 10.0, 8.0, 6.0]
    assert curve["std"][:3] == pytest.approx([1.0, 1.0, 1.0]) and curve["std"][3] == pytest.approx(np.std([5, 6], ddof=1))
    everything = http.get("/ui/data/compare/groups", params={"ids": chosen, "name": "loss"}).json()
    assert len(everything["groups"]) == 1 and everything["groups"][0]["runs"] == 6
    smoothed = http.get("/ui/data/compare/groups", params={"ids": chosen, "name": "loss", "by": "lr", "smoothing": 0.5}).json()
    assert smoothed["groups"][0]["series"][0]["mean"][0] == pytest.approx(11.0)  # smoothing starts at the first point
    assert smoothed["groups"][0]["series"][0]["mean"][1] != curve["mean"][1]


def test_tags_of_every_run_in_one_answer(sweep):
    http, ids, project_id, _ = sweep
    tags = http.get(f"/ui/data/projects/{project_id}/tags").json()["tags"]
    assert tags == {ids[(0.1, 0)]: ["baseline", "best"], ids[(0.01, 1)]: ["baseline"]}


def test_the_pages_reads_and_writes_work_on_a_tracking_server_with_the_sign_in_cookie(sweep):
    """The project page queries, groups, tags and edits through the REST API with the session cookie."""
    _, ids, project_id, store = sweep
    http = TestClient(create_app(store, require_token=True))
    run = ids[(0.01, 2)]
    assert http.get(f"/ui/data/projects/{project_id}/tags").status_code == 401
    assert http.post(f"/api/trackboard/experiments/{run}/tags", json={"add": ["x"]}).status_code == 401
    signed_in = authenticate(store, create_token(store, "sweep-ui-test", "admin"))  # as /ui/signin does
    http.cookies.set(COOKIE, create_session(store, signed_in))
    assert http.get(f"/api/trackboard/projects/{project_id}/experiments", params={"filter": "params.lr = 0.01"}).json()["count"] == 3
    bad = http.get(f"/api/trackboard/projects/{project_id}/experiments", params={"filter": "params.lr <"})
    assert bad.status_code == 400 and "at 11" in bad.json()["message"]  # what the query box shows
    assert http.post(f"/api/trackboard/experiments/{run}/tags", json={"add": ["x"]}).json()["tags"] == ["x"]
    assert http.post(f"/api/trackboard/experiments/{run}/tags", json={"remove": ["x"]}).json()["tags"] == []
    groups = http.post(f"/api/trackboard/projects/{project_id}/groups", json={"filter": "params.seed != 2", "by": ["params.lr"]}).json()
    assert sorted(g["count"] for g in groups["groups"]) == [2, 2]
    assert http.get("/ui/data/compare/groups", params={"ids": run, "name": "loss"}).status_code == 200
