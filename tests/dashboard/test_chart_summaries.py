"""A long series' chart read from the chunks' block summaries (``/ui/data/.../series``) equals
first/last/min/max over every stored point, whatever was done to the series: chunks without a
summary (a store from before 0004), zoom ranges cutting into chunks, appends, a rewind, a replace,
a delete and a new log of the same name. On the embedded SQLite store and on PostgreSQL."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from trackboard import LogType, Project
from trackboard.server.app import create_app
from trackboard.store import schema as t
from trackboard.store.kept import KeptChunks
from trackboard.store.summaries import BLOCK, bucket_size

N = 20_000
BUCKETS = 100  # N is past BLOCK * BUCKETS points: a chart of BUCKETS columns reads summaries


def noisy(rng, n: int, start: int = 0) -> dict:
    values = rng.normal(size=n).round(2)
    values[rng.random(n) < 0.01] = math.nan
    values[rng.random(n) < 0.001] = math.inf
    values[rng.integers(n)] = -1e6  # a spike every chart must show
    return {"steps": np.arange(start, start + n), "a": values, "b": -values}


@pytest.fixture
def run(either_store):
    store, backend = either_store
    experiment = Project(backend, store.create_project("charts")).create_experiment("long")
    experiment.log("train", noisy(np.random.default_rng(0), N), LogType.LINE)
    experiment.flush()
    yield store, experiment, TestClient(create_app(store, require_token=False))
    experiment.close()


def chart(http, experiment, **params) -> dict:
    params = {"name": "train", "buckets": BUCKETS, **params}
    answer = http.get(f"/ui/data/experiments/{experiment.id}/series", params=params)
    assert answer.status_code == 200, answer.text
    return {line["name"]: line for line in answer.json()["series"]}


def expected(store, experiment, step_min=-math.inf, step_max=math.inf, buckets=BUCKETS) -> dict:
    """What a chart of every stored point keeps: each run of ``bucket_size`` positions' first, last,
    first lowest and first highest point (NaN never lowest or highest)."""
    out = {}
    for name, points in store.get_points(experiment.id, "train").items():
        positions = np.flatnonzero((points.steps >= step_min) & (points.steps <= step_max))
        assert len(positions) > BLOCK * buckets  # these tests are about the summaries' path
        size = bucket_size(len(positions), buckets)
        kept = set()
        bucket = positions // size
        for number in np.unique(bucket):
            where = positions[bucket == number]
            v = points.values[where]
            kept |= {where[0], where[-1], where[np.where(np.isnan(v), np.inf, v).argmin()],
                     where[np.where(np.isnan(v), -np.inf, v).argmax()]}
        kept = sorted(kept)
        values = points.values[positions]
        out[name] = {"steps": points.steps[kept].tolist(), "values": points.values[kept], "in_range": len(positions),
                     "total": len(points), "nan": int(np.isnan(values).sum()), "inf": int(np.isinf(values).sum()),
                     "last_step": points.steps[positions[-1]]}
    return out


def assert_chart(answer: dict, want: dict, buckets: int = BUCKETS) -> None:
    assert sorted(answer) == sorted(want)
    for name, line in answer.items():
        expect = want[name]
        assert line["steps"] == expect["steps"]
        values = np.array([math.nan if v is None else v for v in line["values"]])
        shown = np.where(np.isfinite(expect["values"]), expect["values"], math.nan)  # non-finite: null in JSON
        np.testing.assert_array_equal(values, shown)
        assert line["downsampled"] is True and len(line["steps"]) <= 4 * buckets
        for key in ("in_range", "total", "nan", "inf", "last_step"):
            assert line[key] == expect[key], key


def test_a_long_chart_equals_every_point_bucketed(run):
    store, experiment, http = run
    want = expected(store, experiment)
    assert_chart(chart(http, experiment), want)
    # A store upgraded from before 0004 has chunks without a summary: decoded, the same answer.
    with store.engine.begin() as conn:
        conn.execute(t.chunks.update().where(t.chunks.c.seq % 2 == 0).values(summary=None))
    store.kept_chunks = KeptChunks()  # nothing decoded kept either: the chunks are read again
    fresh = TestClient(create_app(store, require_token=False))  # computed again, not the kept answer
    assert_chart(chart(fresh, experiment), want)


def test_a_zoom_cutting_into_chunks(run):
    store, experiment, http = run
    low, high = 1_000.5, 18_000  # both ends inside a chunk
    assert_chart(chart(http, experiment, step_min=low, step_max=high), expected(store, experiment, low, high))
    assert_chart(chart(http, experiment, buckets=50, step_min=low), expected(store, experiment, low, buckets=50), 50)


def test_appends_rewind_replace_and_delete_are_seen(run):
    store, experiment, http = run
    rng = np.random.default_rng(1)
    experiment.log("train", noisy(rng, 5_000, start=N), LogType.LINE)
    experiment.flush()
    after_append = chart(http, experiment)
    assert after_append["a"]["total"] == N + 5_000
    assert_chart(after_append, expected(store, experiment))

    experiment.rewind(12_000)
    rewound = chart(http, experiment)
    assert rewound["a"]["last_step"] == 12_000 and rewound["a"]["total"] == 12_001
    assert_chart(rewound, expected(store, experiment))
    experiment.log("train", noisy(rng, 3_000, start=12_001), LogType.LINE)  # refills rewritten chunks
    experiment.flush()
    assert_chart(chart(http, experiment), expected(store, experiment))

    experiment.log("train", noisy(rng, 9_000), LogType.LINE, replace=True)
    experiment.flush()
    replaced = chart(http, experiment)
    assert replaced["a"]["total"] == 9_000
    assert_chart(replaced, expected(store, experiment))

    experiment.delete_log("train")
    experiment.log("train", noisy(rng, 8_000), LogType.LINE)
    experiment.flush()
    again = chart(http, experiment)
    assert again["a"]["total"] == 8_000
    assert_chart(again, expected(store, experiment))
    with store.engine.connect() as conn:  # every chunk written by this code has its summary
        assert conn.execute(sa.select(sa.func.count()).where(t.chunks.c.summary.is_(None))).scalar_one() == 0
