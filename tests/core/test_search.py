"""Run queries in the embedded store (real SQLite files): search_experiments, frames checked against
the stored data, tags and notes, the derived rows the write path keeps, and a property test that
SQL gives the runs a Python reference evaluator of the same semantics gives."""

from __future__ import annotations

import math
import sqlite3

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from query_cases import ALL, check_all, populate, stored_extremes

from trackboard import AlreadyExistsError, Client, LogType, QueryError
from trackboard.query import And, Compare, Field, Not, Or, render
from trackboard.store.derived import flatten


@pytest.fixture
def runs(project):
    return populate(project)


def test_the_shared_cases_on_sqlite(project, runs):
    check_all(project)


def test_the_issue_examples(project, runs):
    names = [e.name for e in project.search_experiments(
        "params.lr < 0.01 and (values.accuracy >= 0.9 or status = 'FAILED')", order_by=["values.accuracy DESC"])]
    assert names == ["bert-large", "bert-base"]
    found = project.search_experiments("min.loss < 0.35 and tags contains 'baseline' and name like 'bert-%'",
                                       order_by="min.loss")
    assert [e.name for e in found] == ["bert-large", "bert-base"]
    assert all(e.project is project for e in found)


def test_a_query_sees_what_was_just_logged(project):
    experiment = project.create_experiment("fresh")
    experiment.log("accuracy", 0.5, LogType.VALUE)  # still queued: search flushes first
    assert [e.name for e in project.search_experiments("values.accuracy = 0.5")] == ["fresh"]


def test_malformed_queries_raise_before_anything_is_read(project, runs):
    with pytest.raises(QueryError, match="at 17: expected a value after '<'"):
        project.search_experiments("values.accuracy <")
    with pytest.raises(QueryError, match="at 0: unknown field"):
        project.search_experiments(order_by=["accuracy DESC"])
    with pytest.raises(QueryError, match="max_results"):
        project.search_experiments(max_results=-1)
    assert len(project.search_experiments(max_results=0)) == 0


def test_queries_stay_in_their_project(client, project, runs):
    other = client.create_project("other")
    populate(other)
    assert sorted(e.name for e in project.search_experiments()) == ALL
    assert len(other.search_experiments("tags contains 'baseline'")) == 2


# -- derived rows follow every write -----------------------------------------------------------


def test_parameters_follow_log_parameters_replace_and_delete(project):
    experiment = project.create_experiment("p", parameters={"lr": 0.1})
    experiment.log_parameters({"batch": 8, "model": {"depth": 3}})
    assert [e.name for e in project.search_experiments("params.lr = 0.1 and params.model.depth = 3")] == ["p"]
    experiment.log("parameters", {"lr": 0.5}, LogType.TABLE)  # a TABLE replaces the whole table
    assert project.search_experiments("params.batch = 8") == []
    assert len(project.search_experiments("params.lr = 0.5")) == 1
    experiment.log("parameters", 3, LogType.VALUE, replace=True)  # no longer a table: no parameters
    assert project.search_experiments("params.lr is not null") == []
    experiment.log("parameters", {"lr": 0.7}, LogType.TABLE, replace=True)
    experiment.delete_log("parameters")
    assert project.search_experiments("params.lr is not null") == []


def test_values_and_extremes_follow_appends_and_replacements(project):
    experiment = project.create_experiment("v")
    experiment.log("acc", 0.5, LogType.VALUE)
    experiment.log("acc", "n/a", LogType.VALUE)  # latest wins, now text
    assert project.search_experiments("values.acc = 0.5") == []
    assert len(project.search_experiments("values.acc = 'n/a'")) == 1
    experiment.log("acc", [1.0], LogType.LINE, replace=True)
    assert project.search_experiments("values.acc is not null") == []
    for chunk in ([5.0, 3.0], [float("nan")], [4.0, 9.0]):  # appends across batches
        experiment.log("loss", chunk, LogType.LINE)
        experiment.flush()
    assert len(project.search_experiments("min.loss = 3 and max.loss = 9 and last.loss = 9")) == 1
    experiment.log("loss", [7.0], LogType.LINE, replace=True)
    assert len(project.search_experiments("min.loss = 7 and max.loss = 7")) == 1


def test_rebuild_recomputes_the_derived_rows(project, runs, client):
    import sqlalchemy as sa

    from trackboard.store import derived
    from trackboard.store import schema as t
    from trackboard.store.engine import write_transaction

    store = client._backend.store
    with write_transaction(store.engine) as conn:  # a store written before the derived rows existed
        conn.execute(t.parameter_values.delete())
        conn.execute(t.logs.update().values(value_number=None, value_text=None))
        conn.execute(t.series.update().values(min_value=None, max_value=None))
    assert project.search_experiments("params.lr < 0.01") == []
    with write_transaction(store.engine) as conn:
        derived.rebuild(conn)
        assert conn.execute(sa.select(sa.func.count()).select_from(t.parameter_values)).scalar() > 0
    check_all(project)


# -- tags, notes, delete -----------------------------------------------------------------------


def test_tags(project):
    experiment = project.create_experiment("t")
    assert experiment.tags == []
    experiment.add_tags("b", "a")
    experiment.add_tags(["a", "c"])  # a list works too; existing tags stay once
    assert experiment.tags == ["a", "b", "c"]
    experiment.remove_tags("b", "never-had")
    assert project.get_experiment("t").tags == ["a", "c"]
    for bad in ("", "x" * 257):
        with pytest.raises(ValueError, match="a tag must have 1 to 256 characters"):
            experiment.add_tags(bad)
    with pytest.raises(TypeError, match="a tag must be a string"):
        experiment.add_tags(3)
    assert experiment.tags == ["a", "c"]


def test_update_and_delete(project):
    experiment = project.create_experiment("old", description="first")
    project.create_experiment("taken")
    experiment.update(name="new", description="second")
    assert (experiment.name, experiment.description) == ("new", "second")
    stored = project.get_experiment("new")
    assert stored.id == experiment.id and stored.description == "second"
    experiment.update(description="third")  # None keeps the name
    assert project.get_experiment("new").description == "third"
    with pytest.raises(AlreadyExistsError):
        experiment.update(name="taken")
    experiment.add_tags("x")
    experiment.log("loss", [1.0, 2.0], LogType.LINE)  # queued: lands before the delete
    experiment.delete()
    assert [e.name for e in project.list_experiments()] == ["taken"]
    assert project.search_experiments("tags contains 'x' or max.loss > 0") == []
    project.create_experiment("new")  # the name is free again


def test_a_store_from_another_process_sees_tags(tmp_path, project):
    experiment = project.create_experiment("shared")
    experiment.add_tags("seen")
    store_file = project._backend.store.url.removeprefix("sqlite:///")
    with sqlite3.connect(store_file) as conn:
        assert conn.execute("select tag from tags").fetchall() == [("seen",)]


# -- frames --------------------------------------------------------------------------------------


def test_experiments_frame_holds_the_stored_data(project, runs):
    frame = project.experiments_frame(order_by=["name"])
    assert list(frame.columns[:6]) == ["id", "name", "status", "created_at", "duration", "tags"]
    assert list(frame["name"]) == sorted(ALL)
    assert str(frame["created_at"].dtype) == "datetime64[ns, UTC]"
    for row in frame.to_dict("records"):
        experiment = project.get_experiment(row["name"])
        assert row["id"] == experiment.id and row["status"] == experiment.status
        assert row["tags"] == experiment.tags
        assert row["created_at"].timestamp() == pytest.approx(experiment.created_at)
        parameters = flatten(experiment.get_parameters())
        for column in [c for c in frame.columns if c.startswith("params.")]:
            key = column.removeprefix("params.")
            assert _same(row[column], parameters.get(key)), column
        logs = {log.name: log for log in experiment.list_logs()}
        for column in [c for c in frame.columns if c.startswith("values.")]:
            log = logs.get(column.removeprefix("values."))
            assert _same(row[column], None if log is None else log.data), column
        for label in {c.split(".", 1)[1] for c in frame.columns if c.startswith("last.")}:
            log_name, _, series = label.partition(".")
            if "/" in label:
                log_name, series = label, ""
            data = logs[log_name].data if log_name in logs else None
            points = None if data is None else (data[series] if series else data)
            expected = (None, None, None) if points is None else stored_extremes(points["values"])
            for stat, value in zip(("last", "min", "max"), expected):
                assert _same(row[f"{stat}.{label}"], value), (row["name"], stat, label)


def _same(a, b) -> bool:
    missing = lambda x: x is None or (isinstance(x, float) and math.isnan(x))  # noqa: E731
    if missing(a) or missing(b):
        return missing(a) and missing(b)
    if isinstance(a, list) or isinstance(b, list):
        return list(a) == list(b)
    return a == b


def test_experiments_frame_filters_and_parameters_keep_their_types(project, runs):
    frame = project.experiments_frame("tags contains 'baseline'", order_by="values.accuracy DESC")
    assert list(frame["name"]) == ["bert-large", "bert-base"]
    assert list(frame["params.amp"]) == [False, True]
    assert frame["params.opt.betas"].iloc[1] == [0.9, 0.99]
    assert list(frame["values.accuracy"]) == [0.95, 0.91]
    empty = project.experiments_frame("name = 'nobody'")
    assert len(empty) == 0 and list(empty.columns[:6]) == ["id", "name", "status", "created_at", "duration", "tags"]


def test_log_to_frame(project, runs):
    frame = runs["bert-base"].get_log("loss").to_frame()
    assert list(frame.columns) == ["step", "value", "time", "epoch"]
    assert list(frame["step"]) == [0, 1, 2] and list(frame["value"]) == [1.0, 0.5, 0.3]
    named = runs["bert-base"].get_log("multi").to_frame()
    assert list(named.columns) == ["series", "step", "value", "time", "epoch"]
    assert list(named["series"]) == ["train", "train", "val"]
    experiment = project.create_experiment("epochs")
    experiment.log("acc", {"steps": [5, 6], "values": [0.1, 0.2], "epochs": [1, None]}, LogType.LINE)
    epochs = experiment.get_log("acc").to_frame()["epoch"]
    assert epochs.iloc[0] == 1 and pd.isna(epochs.iloc[1])
    with pytest.raises(TypeError, match="to_frame\\(\\) reads LINE logs"):
        runs["bert-base"].get_log("accuracy").to_frame()


def test_history_frame(project, runs):
    frame = project.history_frame("loss", filter="status = 'SUCCESS'")
    assert list(frame.columns) == ["experiment", "experiment_id", "series", "step", "value", "time", "epoch"]
    assert sorted(set(frame["experiment"])) == ["bert-base", "bert-large", "nan-run"]
    base = frame[frame["experiment"] == "bert-base"]
    assert list(base["value"]) == runs["bert-base"].get_log("loss").data["values"]
    assert set(frame["series"]) == {""}
    multi = project.history_frame("multi")
    assert sorted(set(multi["series"])) == ["train", "val"]
    assert len(project.history_frame("nothing")) == 0


def test_frames_without_pandas_name_the_extra(project, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match=r"trackboard\[analysis\]"):
        project.experiments_frame()


# -- SQL agrees with a Python reference of the same semantics ------------------------------------

KEYS = ("a", "b")
LITERALS = st.one_of(st.integers(-2, 2), st.sampled_from(["x", "y", "1"]))


def reference(node, run) -> bool | None:
    """Three-valued evaluation: a missing field is None (NULL), comparisons with it are None."""
    if isinstance(node, Not):
        value = reference(node.operand, run)
        return None if value is None else not value
    if isinstance(node, (And, Or)):
        left, right = reference(node.left, run), reference(node.right, run)
        if isinstance(node, And):
            return False if False in (left, right) else (None if None in (left, right) else True)
        return True if True in (left, right) else (None if None in (left, right) else False)
    stored = run.get(node.field.key)
    if node.op == "isnull":
        return stored is None
    if stored is None:
        return None
    if node.op == "in":
        matches = [_compare(stored, "=", value) for value in node.value]
        return True if True in matches else (None if None in matches else False)
    return _compare(stored, node.op, node.value)


def _compare(stored, op, value):
    if isinstance(stored, str) != isinstance(value, str):
        return None  # a number literal reads the number column, which is NULL for text (and back)
    return {"=": stored == value, "!=": stored != value, "<": stored < value, "<=": stored <= value,
            ">": stored > value, ">=": stored >= value}[op]


comparison = st.builds(
    lambda key, op, value: Compare(Field("params", (key,)), op, value),
    st.sampled_from(KEYS), st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), LITERALS,
) | st.builds(lambda key: Compare(Field("params", (key,)), "isnull", None), st.sampled_from(KEYS)) \
  | st.builds(lambda key, values: Compare(Field("params", (key,)), "in", tuple(values)),
              st.sampled_from(KEYS), st.lists(LITERALS, min_size=1, max_size=3))
filters = st.recursive(comparison, lambda c: st.builds(And, c, c) | st.builds(Or, c, c) | st.builds(Not, c),
                       max_leaves=6)
DATA = [{"a": a, "b": b} for a in (None, -1, 0, 2, "x", "1") for b in (None, 1, "y")]


@pytest.fixture(scope="module")
def reference_project(tmp_path_factory):
    directory = tmp_path_factory.mktemp("reference")
    project = Client(directory=directory).create_project("reference")
    for i, run in enumerate(DATA):
        project.create_experiment(f"run{i}", parameters={k: v for k, v in run.items() if v is not None} or None)
    project._backend.flush()
    yield project
    from trackboard.backend import release

    release(directory)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filters)
def test_sql_gives_the_runs_the_reference_semantics_give(reference_project, node):
    expected = sorted(f"run{i}" for i, run in enumerate(DATA) if reference(node, run) is True)
    found = sorted(e.name for e in reference_project.search_experiments(render(node)))
    assert found == expected


def test_disabled_mode_finds_nothing_and_keeps_tags_in_memory(tmp_path):
    project = Client(mode="disabled", directory=tmp_path / "unused").get_or_create_project("off")
    experiment = project.create_experiment("run")
    experiment.add_tags("a")
    experiment.update(description="kept")
    assert experiment.tags == ["a"] and experiment.description == "kept"
    assert project.search_experiments("tags contains 'a'") == []
    experiment.delete()
    assert not (tmp_path / "unused").exists()
