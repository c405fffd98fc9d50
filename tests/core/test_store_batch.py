"""Store.apply: a batch is checked record by record, then written with a handful of statements.

Whatever the batch holds, the outcome is that of applying its records one at a time: the same
logs, the same data, the same records refused with the same errors.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trackboard.logtype import LogType
from trackboard.normalise import normalise
from trackboard.records import Record
from trackboard.store.sql import Store

NAMES = ("a", "b")
DATA = {
    LogType.VALUE: st.one_of(st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=3)),
    LogType.TABLE: st.dictionaries(st.sampled_from(["k", "l"]), st.integers(0, 3), min_size=1),
    LogType.BAR: st.just({"x": ["p", "q"], "y": [1, 2.5]}),
    LogType.LINE: st.one_of(
        st.floats(-1, 1),
        st.lists(st.floats(-1, 1), min_size=1, max_size=3),
        st.builds(lambda s, v: {"steps": [s], "values": [v]}, st.integers(0, 9), st.floats(-1, 1)),
        st.builds(lambda v: {"x": [v], "y": [v]}, st.floats(-1, 1)),
        st.builds(lambda v, w: {"x": v, "steps": 4, "epochs": 1, "y": w}, st.floats(-1, 1), st.floats(-1, 1)),
        st.builds(lambda n: {"x": list(map(float, range(n)))}, st.integers(1, 5000)),
    ),
}


@st.composite
def records(draw):
    out = []
    for i in range(draw(st.integers(1, 12))):
        log_type = draw(st.sampled_from(sorted(DATA, key=str)))
        data = normalise("n", log_type, draw(DATA[log_type]))
        out.append((draw(st.sampled_from(NAMES)), log_type, data, draw(st.booleans())))
    return out


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    one = Store.at_directory(tmp_path_factory.mktemp("batched"))
    many = Store.at_directory(tmp_path_factory.mktemp("one-by-one"))
    yield one, many
    one.close()
    many.close()


def _experiment(store: Store) -> str:
    project = store.create_project(f"p{len(store.list_projects())}")
    return store.create_experiment(project["id"], "e")["id"]


def _state(store: Store, experiment_id: str) -> dict:
    out = {}
    for row in store.list_logs(experiment_id):
        log_type, data = store.get_log(experiment_id, row["name"])
        out[row["name"]] = (log_type, json.dumps(data, sort_keys=True))
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(ops=records(), existing=st.booleans())
def test_a_batch_applies_as_its_records_one_at_a_time(stores, ops, existing):
    batched, single = stores
    outcomes = []
    for store in (batched, single):
        experiment_id = _experiment(store)
        if existing:  # logs already stored before the batch: an unnamed LINE and a VALUE
            store.apply([Record(experiment_id, "a", LogType.LINE, normalise("a", LogType.LINE, [1.0, 2.0]), False, 1.0),
                         Record(experiment_id, "b", LogType.VALUE, 3, False, 1.0)])
        batch = [Record(experiment_id, name, log_type, data, replace, 2.0 + i)
                 for i, (name, log_type, data, replace) in enumerate(ops)]
        if store is batched:
            failures = store.apply(batch)
        else:
            failures = [failure for record in batch for failure in store.apply([record])]
        refused = [(record.time, type(error).__name__, str(error)) for record, error in failures]
        outcomes.append((refused, _state(store, experiment_id)))
    assert outcomes[0] == outcomes[1]


def test_a_batch_is_a_handful_of_statements(tmp_path):
    """Ten VALUE logs replaced 100 times each and ten series appended 100 times each: the commit
    issues a fixed number of statements, not one or more per record."""
    store = Store.at_directory(tmp_path)
    experiment_id = _experiment(store)
    warm = [Record(experiment_id, f"v{k}", LogType.VALUE, 0, False, 1.0) for k in range(10)]
    warm.append(Record(experiment_id, "m", LogType.LINE, normalise("m", LogType.LINE, {f"s{k}": 0.0 for k in range(10)}),
                       False, 1.0))
    store.apply(warm)
    statements = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    batch = []
    for step in range(100):
        batch += [Record(experiment_id, f"v{k}", LogType.VALUE, step, False, 2.0 + step) for k in range(10)]
        batch.append(Record(experiment_id, "m", LogType.LINE,
                            normalise("m", LogType.LINE, {"steps": step, **{f"s{k}": float(step) for k in range(10)}}),
                            False, 2.0 + step))
    assert store.apply(batch) == []
    # BEGIN, read logs, series and tail chunks, update logs, delete + insert chunks, update series and experiment
    assert len(statements) <= 9, statements
    assert store.get_log(experiment_id, "v3") == (LogType.VALUE, 99)
    assert store.get_log(experiment_id, "m")[1]["s9"]["values"][-1] == 99.0
    store.close()


# Per-step dicts in long runs (a batch gathers consecutive ones of the same names as rows, see
# records.PendingPoints), broken by other shapes of the same log: the order of every series' points
# must be the order they were logged in.
PER_STEP = st.one_of(
    st.builds(lambda v, w: {"x": v, "y": w}, st.floats(-1, 1), st.floats(-1, 1)),
    st.builds(lambda s, v, w: {"steps": s, "x": [v], "y": [w]}, st.integers(0, 50), st.floats(-1, 1), st.floats(-1, 1)),
    st.builds(lambda v: {"y": v, "x": v}, st.floats(-1, 1)),
    st.builds(lambda v, e: {"x": v, "epochs": e}, st.floats(-1, 1), st.integers(0, 3)),
    st.builds(lambda n: {"x": list(map(float, range(n))), "y": [0.5] * n}, st.integers(1, 20)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(runs=st.lists(st.tuples(PER_STEP, st.integers(1, 30)), min_size=1, max_size=6))
def test_long_runs_of_per_step_dicts_keep_every_series_in_order(stores, runs):
    batched, single = stores
    datas = [normalise("m", LogType.LINE, data) for data, repeat in runs for _ in range(repeat)]
    states = []
    for store in (batched, single):
        experiment_id = _experiment(store)
        batch = [Record(experiment_id, "m", LogType.LINE, data, False, 2.0 + i) for i, data in enumerate(datas)]
        if store is batched:
            assert store.apply(batch) == []
        else:
            for record in batch:
                assert store.apply([record]) == []
        states.append(_state(store, experiment_id))
    assert states[0] == states[1]
