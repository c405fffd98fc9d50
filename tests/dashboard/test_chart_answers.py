"""Chart answers kept per worker (``server/dashboard/answers.py``): a poll of a log that did not
change reads no chunk and answers the same, and every write to the log is seen at the next poll:
appends, a rewind refilled to the same count and last step, a replace, a delete and a new log of
the same name; the compare view shares them. On the embedded SQLite store and on PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from trackboard import LogType, Project
from trackboard.server.app import create_app
from trackboard.server.dashboard.answers import Answers

N = 10_000


# -- the cache itself --------------------------------------------------------------------------


def test_an_answer_is_computed_once_per_version():
    answers, computed = Answers(), []

    def compute(text):
        return lambda: computed.append(text) or text

    assert answers.get_or_compute("chart", 1, compute("a")) == "a"
    assert answers.get_or_compute("chart", 1, compute("b")) == "a"  # same version: the kept text
    assert answers.get_or_compute("chart", 2, compute("c")) == "c"  # a new version replaces it
    assert answers.get_or_compute("chart", 2, compute("d")) == "c"
    assert computed == ["a", "c"] and len(answers) == 1


def test_the_least_recently_used_answers_go_past_the_budget():
    answers = Answers(max_bytes=10)
    for key in "abc":
        answers.get_or_compute(key, 0, lambda: "xxxx")  # 4 bytes each: the third pushes out the first
    assert len(answers) == 2
    assert answers.get_or_compute("a", 0, lambda: "new!") == "new!"  # "a" had gone: computed again
    assert answers.get_or_compute("c", 0, lambda: "none") == "xxxx"
    assert answers.get_or_compute("big", 0, lambda: "y" * 11) == "y" * 11  # over the budget: not kept
    assert answers.get_or_compute("big", 0, lambda: "z") == "z"


# -- through the dashboard's endpoints ---------------------------------------------------------


@pytest.fixture
def run(either_store):
    store, backend = either_store
    experiment = Project(backend, store.create_project("answers")).create_experiment("live")
    steps = np.arange(N)
    experiment.log("train", {"steps": steps, "loss": np.sin(steps / 100), "acc": steps / N}, LogType.LINE)
    experiment.flush()
    yield store, experiment, TestClient(create_app(store, require_token=False))
    experiment.close()


@pytest.fixture
def chunk_reads(run):
    """How many statements read the chunks table, counted on the store's engine."""
    store = run[0]
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "FROM chunks" in statement:
            seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    yield seen
    sa.event.remove(store.engine, "before_cursor_execute", count)


def series(http, experiment, **params) -> dict:
    answer = http.get(f"/ui/data/experiments/{experiment.id}/series", params={"name": "train", **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


def fresh_app(store) -> TestClient:
    """The dashboard of another worker: nothing kept yet, every answer computed from the store."""
    return TestClient(create_app(store, require_token=False))


def test_a_poll_of_an_unchanged_log_reads_no_chunk(run, chunk_reads):
    store, experiment, http = run
    first = series(http, experiment)
    assert chunk_reads, "the first answer reads the chunks"
    chunk_reads.clear()
    assert series(http, experiment) == first
    assert chunk_reads == []
    # Another parameter is another answer, computed from the chunks.
    zoomed = series(http, experiment, step_min=100, step_max=200)
    assert chunk_reads and zoomed["series"][0]["steps"] == list(range(100, 201))

    experiment.log("train", {"steps": N, "loss": 5.0, "acc": 1.0}, LogType.LINE)
    experiment.flush()
    chunk_reads.clear()
    grown = {line["name"]: line for line in series(http, experiment)["series"]}
    assert chunk_reads, "a new point: the answer is computed again"
    assert grown["loss"]["total"] == N + 1 and grown["loss"]["last_step"] == N and grown["loss"]["values"][-1] == 5.0


@pytest.fixture
def transactions(run):
    """How many transactions begin on the store's engine."""
    store = run[0]
    begun = []

    def count(conn):
        begun.append(conn)

    sa.event.listen(store.engine, "begin", count)
    yield begun
    sa.event.remove(store.engine, "begin", count)


@pytest.mark.parametrize("params", [{}, {"step_min": 10, "step_max": 20}, {"smoothing": 0.5}, {"x": "relative"}],
                         ids=["whole", "zoomed", "smoothed", "relative"])
def test_a_poll_reads_the_version_and_the_chart_it_keeps_in_one_snapshot(run, transactions, params):
    store, experiment, http = run
    experiment.log("train", {"steps": N, "loss": 5.0, "acc": 1.0}, LogType.LINE)
    experiment.flush()
    transactions.clear()
    grown = {line["name"]: line for line in series(http, experiment, **params)["series"]}
    assert grown["loss"]["total"] == N + 1  # computed, not kept: the version and the chunks were read
    assert len(transactions) == 1, "the version checked and the chart kept under it come from one snapshot"

    transactions.clear()
    http.get("/ui/data/compare/series", params={"ids": experiment.id, "name": "train", **params}).raise_for_status()
    assert len(transactions) == 1


def test_the_sweep_reads_its_runs_their_logs_and_their_points_in_one_snapshot(run, transactions):
    store, experiment, http = run
    transactions.clear()
    answer = http.get("/ui/data/compare/groups", params={"ids": experiment.id, "name": "train"}).json()
    assert answer["groups"][0]["ids"] == [experiment.id] and answer["groups"][0]["runs"] == 1
    assert len(transactions) == 1, "the runs' rows (their parameters) and their points come from one snapshot"


def test_a_rewind_refilled_to_the_same_count_and_last_step_is_seen(run):
    store, experiment, http = run
    before = {line["name"]: line for line in series(http, experiment)["series"]}
    experiment.rewind(N // 2 - 1)
    steps = np.arange(N // 2, N)
    experiment.log("train", {"steps": steps, "loss": -np.ones(len(steps)), "acc": np.zeros(len(steps))}, LogType.LINE)
    experiment.flush()
    after = {line["name"]: line for line in series(http, experiment)["series"]}
    assert after["loss"]["total"] == before["loss"]["total"] == N
    assert after["loss"]["last_step"] == before["loss"]["last_step"] == N - 1
    assert after["loss"]["values"] != before["loss"]["values"]
    assert {v for step, v in zip(after["loss"]["steps"], after["loss"]["values"]) if step >= N // 2} == {-1.0}
    assert after == {line["name"]: line for line in series(fresh_app(store), experiment)["series"]}


def test_a_replaced_or_recreated_log_is_seen(run):
    store, experiment, http = run
    series(http, experiment)
    experiment.log("train", {"steps": np.arange(3), "loss": [1.0, 2.0, 3.0], "acc": [0.0, 0.0, 0.0]}, LogType.LINE,
                   replace=True)
    experiment.flush()
    replaced = {line["name"]: line for line in series(http, experiment)["series"]}
    assert replaced["loss"]["values"] == [1.0, 2.0, 3.0]

    experiment.delete_log("train")
    experiment.log("train", {"steps": np.arange(2), "other": [7.0, 8.0]}, LogType.LINE)
    experiment.flush()
    assert [(line["name"], line["values"]) for line in series(http, experiment)["series"]] == [("other", [7.0, 8.0])]


def test_the_compare_view_shares_the_kept_answers(run, chunk_reads):
    store, experiment, http = run
    alone = series(http, experiment)["series"]
    chunk_reads.clear()
    answer = http.get("/ui/data/compare/series", params={"ids": experiment.id, "name": "train"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["experiments"] == {experiment.id: alone} and chunk_reads == []
    experiment.log("train", {"steps": N, "loss": 9.0, "acc": 1.0}, LogType.LINE)
    experiment.flush()
    compared = http.get("/ui/data/compare/series", params={"ids": experiment.id, "name": "train"}).json()
    assert {line["name"]: line["values"][-1] for line in compared["experiments"][experiment.id]} == {"loss": 9.0, "acc": 1.0}


def test_bad_requests_are_refused_before_any_answer_is_kept(run):
    store, experiment, http = run
    experiment.log("note", 1.0, LogType.VALUE)
    experiment.flush()
    base = f"/ui/data/experiments/{experiment.id}/series"
    assert http.get(base, params={"name": "note"}).status_code == 400  # not a LINE
    assert http.get(base, params={"name": "missing"}).status_code == 404
    assert http.get("/ui/data/experiments/nope/series", params={"name": "train"}).status_code == 404
    assert http.get(base, params={"name": "train", "x": "sideways"}).status_code == 400
    assert len(http.app.state.answers) == 0
