"""Experiment: lifecycle, type conflicts, names, logs (list/delete), artifacts."""

from __future__ import annotations

import hashlib
import pickle
import time

import pytest

from tbhelpers import assert_refused, snapshot
from trackboard import Client, LogType
from trackboard.errors import (
    AlreadyExistsError,
    InvalidLogError,
    LogDataTypeError,
    LogTypeConflictError,
    NotFoundError,
    TrackboardError,
    WriteError,
)
from trackboard.log import Artifact, Log
from trackboard.records import ImagePayload, Record
from trackboard.store.sql import Store

# -- lifecycle --------------------------------------------------------------------------------


def test_new_experiment_is_running(project):
    experiment = project.create_experiment("run", description="first try")
    assert experiment.status == "RUNNING"
    assert experiment.description == "first try"
    assert experiment.name == "run"
    assert experiment.project.id == project.id
    assert experiment.created_at <= time.time()


def test_close_marks_success_and_flushes(client, project):
    experiment = project.create_experiment("run")
    experiment.log("loss", [1.0, 2.0], "line")
    experiment.close()
    assert experiment.status == "SUCCESS"
    again = client.get_experiment_by_id(experiment.id)
    assert again.status == "SUCCESS"
    assert again.get_log("loss").data["values"] == [1.0, 2.0]


def test_context_manager_success(project):
    with project.create_experiment("ok") as experiment:
        experiment.log("acc", 0.9, "value")
        assert experiment.status == "RUNNING"
    assert experiment.status == "SUCCESS"
    assert experiment.get_log("acc").data == 0.9


def test_context_manager_failure(project):
    with pytest.raises(ZeroDivisionError):
        with project.create_experiment("boom") as experiment:
            experiment.log("acc", 0.5, "value")
            1 / 0
    assert experiment.status == "FAILED"
    assert project.get_experiment("boom").status == "FAILED"
    assert experiment.get_log("acc").data == 0.5  # logged before the failure, still flushed


def test_close_with_failed_status(project):
    experiment = project.create_experiment("run")
    experiment.close("FAILED")
    assert experiment.status == "FAILED"


def test_experiment_pickles_as_a_reopen_of_the_same_store(experiment):
    experiment.log("loss", 1.0, "line")
    experiment.close()
    again = pickle.loads(pickle.dumps(experiment))
    assert again.id == experiment.id and again.status == "SUCCESS"
    again.log("loss", 2.0, "line")
    assert experiment.get_log("loss").data["values"] == [1.0, 2.0]


def test_reopen_marks_a_finished_experiment_running(experiment):
    experiment.close()
    experiment.reopen()
    assert experiment.status == "RUNNING"


def test_an_experiment_on_a_bare_store_does_not_pickle(tmp_path):
    from trackboard import Project
    from trackboard.backend import LocalBackend
    from trackboard.store.sql import Store

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "blobs")
    experiment = Project(LocalBackend(store), store.create_project("p")).create_experiment("e")
    with pytest.raises(TypeError, match="another process cannot open"):
        pickle.dumps(experiment)


# -- experiments of a project -----------------------------------------------------------------


def test_get_and_list_experiments(client, project):
    a = project.create_experiment("a")
    b = project.create_experiment("b")
    assert project.get_experiment("a").id == a.id
    assert client.get_experiment_by_id(b.id).name == "b"
    assert project.get_experiment_by_id(a.id).name == "a"
    assert [e.name for e in project.list_experiments()] == ["a", "b"]


def test_duplicate_experiment_name(project):
    project.create_experiment("a")
    with pytest.raises(AlreadyExistsError) as caught:
        project.create_experiment("a")
    assert "'a'" in str(caught.value) and isinstance(caught.value, ValueError)


def test_same_experiment_name_in_two_projects(client):
    one = client.create_project("one").create_experiment("run")
    two = client.create_project("two").create_experiment("run")
    assert one.id != two.id
    one.log("x", 1, "value")
    with pytest.raises(NotFoundError):
        two.get_log("x")


def test_missing_experiments(client, project):
    with pytest.raises(NotFoundError) as caught:
        project.get_experiment("nope")
    assert isinstance(caught.value, LookupError)
    with pytest.raises(NotFoundError):
        client.get_experiment_by_id("00000000-0000-0000-0000-000000000000")
    other = client.create_project("other").create_experiment("x")
    with pytest.raises(NotFoundError):
        project.get_experiment_by_id(other.id)


def test_get_or_create_experiment(project):
    first = project.get_or_create_experiment("e")
    assert project.get_or_create_experiment("e").id == first.id


@pytest.mark.parametrize("name, error", [("", InvalidLogError), ("x" * 257, InvalidLogError), (3, LogDataTypeError)])
def test_experiment_name_validation(project, name, error):
    with pytest.raises(error):
        project.create_experiment(name)


def test_experiment_without_a_name_gets_a_new_one_each_time(project):
    project.create_experiment("baseline")
    names = [project.create_experiment().name, project.create_experiment(None).name]
    assert [name.rsplit("-", 1)[1] for name in names] == ["2", "3"]  # the project's 2nd and 3rd runs
    assert all(len(name.split("-")) == 3 for name in names)
    assert [e.name for e in project.list_experiments()] == ["baseline", *names]


# -- log names --------------------------------------------------------------------------------


@pytest.mark.parametrize("name, error", [("", InvalidLogError), ("x" * 257, InvalidLogError), (7, LogDataTypeError),
                                         (None, LogDataTypeError), (("a",), LogDataTypeError)])
def test_log_name_validation(experiment, name, error):
    with pytest.raises(error) as caught:
        experiment.log(name, 1.0, "value")
    assert isinstance(caught.value, TrackboardError)
    experiment.flush()
    assert experiment.list_logs() == []


def test_long_and_unicode_names(experiment):
    name = "é/" + "x" * 254
    experiment.log(name, 1.0, "value")
    experiment.log("train/loss ☃", [1.0], "line")
    assert experiment.get_log(name).data == 1.0
    assert experiment.get_log("train/loss ☃").type is LogType.LINE


# -- type conflicts ---------------------------------------------------------------------------


@pytest.mark.parametrize("first, first_data, second, second_data", [
    ("VALUE", 1.0, "LINE", [1.0]),
    ("LINE", [1.0], "VALUE", 1.0),
    ("TABLE", {"a": 1}, "BAR", {"x": ["a"], "y": [1]}),
    ("LABELMAP", ["cat"], "TABLE", {"0": "cat"}),
    ("HEATMAP", {"categories": ["a"], "values": [[1]]}, "EVALUATION", {"metrics": {}}),
])
def test_other_type_needs_replace(experiment, first, first_data, second, second_data):
    experiment.log("x", first_data, first)
    before = snapshot(experiment)
    error = assert_refused(experiment, "x", second_data, second, error=LogTypeConflictError)
    message = str(error)
    assert first in message and second in message and "replace=True" in message
    assert isinstance(error, ValueError)
    assert snapshot(experiment) == before
    experiment.log("x", second_data, second, replace=True)
    assert experiment.get_log("x").type is LogType[second]


def test_conflict_is_detected_by_a_fresh_handle(client, experiment):
    experiment.log("x", 1.0, "value")
    experiment.flush()
    fresh = client.get_experiment_by_id(experiment.id)
    assert_refused(fresh, "x", [1.0], "LINE", error=LogTypeConflictError)


def test_conflict_between_stale_handles_is_reported_by_flush(client, experiment):
    """Two handles that cannot see each other's logs: the store refuses the second and flush says so."""
    other = client.get_experiment_by_id(experiment.id)
    other.list_logs()  # loads the (empty) set of known logs of this handle
    other._load_kinds()
    experiment.log("x", 1.0, "value")
    experiment.flush()
    other.log("x", [1.0, 2.0], "line")
    with pytest.raises(WriteError) as caught:
        other.flush()
    assert "'x'" in str(caught.value) and "replace=True" in str(caught.value)
    assert experiment.get_log("x").data == 1.0
    other.flush()  # the failure is reported once


# -- reading, listing, deleting ---------------------------------------------------------------


def test_get_log_sees_everything_logged_before(experiment):
    for i in range(100):
        experiment.log("l", float(i), "line")
    assert len(experiment.get_log("l").data["values"]) == 100


def test_list_logs_in_creation_order_with_lazy_data(experiment):
    experiment.log("v", 1, "value")
    experiment.log("l", [1.0], "line")
    experiment.log("t", {"a": 1}, "table")
    logs = experiment.list_logs()
    assert [(log.name, log.type) for log in logs] == [("v", LogType.VALUE), ("l", LogType.LINE), ("t", LogType.TABLE)]
    assert all(isinstance(log, Log) for log in logs)
    assert logs[0].data == 1 and logs[2].data == {"a": 1}


def test_delete_log(experiment):
    experiment.log("l", [1.0, 2.0], "line")
    experiment.log("keep", 1, "value")
    experiment.delete_log("l")
    with pytest.raises(NotFoundError):
        experiment.get_log("l")
    assert [log.name for log in experiment.list_logs()] == ["keep"]
    # The name is free again, for any type, and a new LINE starts at step 0.
    experiment.log("l", [5.0], "line")
    assert experiment.get_log("l").data["steps"] == [0]
    experiment.delete_log("l")
    experiment.log("l", "text", "value")
    assert experiment.get_log("l").data == "text"


def test_delete_missing_log(experiment):
    with pytest.raises(NotFoundError):
        experiment.delete_log("nope")


def test_delete_log_logged_but_not_yet_flushed(experiment):
    experiment.log("l", [1.0], "line")
    experiment.delete_log("l")
    experiment.flush()
    with pytest.raises(NotFoundError):
        experiment.get_log("l")


# -- a refused record leaves the store unchanged ----------------------------------------------


def test_store_refusal_does_not_touch_the_existing_log(store_dir, experiment):
    """A record the store refuses (here: an image whose blob is missing) changes nothing."""
    experiment.log("x", [1.0, 2.0], "line")
    experiment.flush()
    before = experiment.get_log("x").data
    store = Store.at_directory(store_dir)
    try:
        meta = {"filename": "a.png", "content_type": "image/png", "width": 1, "height": 1, "size": 1,
                "sha256": "cd" * 32}
        failures = store.apply([Record(experiment.id, "x", LogType.IMAGE, ImagePayload(meta, None), True, time.time())])
        assert len(failures) == 1 and isinstance(failures[0][1], NotFoundError)
    finally:
        store.close()
    log = experiment.get_log("x")
    assert log.type is LogType.LINE
    assert log.data == before


def test_record_for_a_deleted_experiment_does_not_sink_the_batch(store_dir, project):
    """One bad record in a batch is refused alone; the other records of the batch are stored."""
    alive = project.create_experiment("alive")
    gone = project.create_experiment("gone")
    store = Store.at_directory(store_dir)
    try:
        store.delete_experiment(gone.id)
        now = time.time()
        try:
            failures = store.apply([
                Record(gone.id, "y", LogType.VALUE, 1, False, now),
                Record(alive.id, "z", LogType.VALUE, 2, False, now),
            ])
        except Exception as error:  # noqa: BLE001 - the assertion below says what is wrong
            pytest.fail(f"the whole batch failed because of one record: {type(error).__name__}: {error}"[:300])
        assert [record.name for record, _ in failures] == ["y"]
    finally:
        store.close()
    assert alive.get_log("z").data == 2


# -- artifacts --------------------------------------------------------------------------------


def test_store_and_download_artifact(experiment, tmp_path):
    content = b"\x00model weights\xff" * 1000
    path = tmp_path / "model.bin"
    path.write_bytes(content)
    artifact = experiment.store("model", path)
    assert isinstance(artifact, Artifact)
    assert artifact.name == "model" and artifact.filename == "model.bin"
    assert artifact.size == len(content)
    assert artifact.sha256 == hashlib.sha256(content).hexdigest()
    got = experiment.get_artifact("model")
    target = got.download(tmp_path / "out")
    assert target == tmp_path / "out" / "model.bin"
    assert target.read_bytes() == content


def test_artifact_content_type_and_listing(experiment, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("hi")
    experiment.store("config", tmp_path / "config.json")
    experiment.store("notes", str(tmp_path / "notes.txt"))
    listed = experiment.list_artifacts()
    assert [a.name for a in listed] == ["config", "notes"]
    assert listed[0].content_type == "application/json"
    assert listed[1].content_type == "text/plain"


def test_artifact_name_defaults_to_the_path(experiment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "weights.pt").write_bytes(b"w")
    artifact = experiment.store("weights.pt")
    assert artifact.name == "weights.pt"
    assert experiment.get_artifact("weights.pt").download(tmp_path / "d").read_bytes() == b"w"


def test_artifact_is_replaced_by_name(experiment, tmp_path):
    (tmp_path / "a").write_bytes(b"one")
    (tmp_path / "b").write_bytes(b"two")
    experiment.store("file", tmp_path / "a")
    experiment.store("file", tmp_path / "b")
    assert [a.filename for a in experiment.list_artifacts()] == ["b"]
    assert experiment.get_artifact("file").download(tmp_path / "out").read_bytes() == b"two"


def test_artifacts_are_content_addressed(experiment, store_dir, tmp_path):
    (tmp_path / "a").write_bytes(b"same")
    (tmp_path / "b").write_bytes(b"same")
    experiment.store("a", tmp_path / "a")
    experiment.store("b", tmp_path / "b")
    blobs = [p for p in (store_dir / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1 and blobs[0].name == hashlib.sha256(b"same").hexdigest()


def test_artifact_errors(experiment, tmp_path):
    with pytest.raises(NotFoundError):
        experiment.store("missing", tmp_path / "nope.bin")
    with pytest.raises(NotFoundError):
        experiment.store("dir", tmp_path)
    with pytest.raises(NotFoundError):
        experiment.get_artifact("nope")
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(InvalidLogError):
        experiment.store("", tmp_path / "f")
    assert experiment.list_artifacts() == []


def test_artifacts_are_per_experiment(project, tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    a = project.create_experiment("a")
    b = project.create_experiment("b")
    a.store("f", tmp_path / "f")
    assert b.list_artifacts() == []
    with pytest.raises(NotFoundError):
        b.get_artifact("f")


def test_second_client_reads_the_same_experiment(store_dir, experiment):
    experiment.log("loss", [1.0, 2.0], "line")
    experiment.flush()
    other = Client(directory=store_dir).get_project("test-project").get_experiment("test-experiment")
    assert other.get_log("loss").data["values"] == [1.0, 2.0]


def test_log_keeps_a_copy_of_mutable_input(experiment):
    """Data is captured when log() is called: mutating it afterwards changes nothing stored."""
    values = [1.0, 2.0]
    per_step = {"steps": 0, "loss": 1.0}
    table = {"a": [1, 2], "b": {"c": 1}}
    bar = {"x": ["a"], "y": [1]}
    experiment.log("l", values, "line")
    experiment.log("m", per_step, "line")
    experiment.log("t", table, "table")
    experiment.log("b", bar, "bar")
    values.append(3.0)
    per_step["loss"] = 99.0
    table["a"].append(3)
    table["b"]["c"] = 2
    bar["y"][0] = 5
    assert experiment.get_log("l").data["values"] == [1.0, 2.0]
    assert experiment.get_log("m").data["loss"]["values"] == [1.0]
    assert experiment.get_log("t").data == {"a": [1, 2], "b": {"c": 1}}
    assert experiment.get_log("b").data == {"x": ["a"], "y": [1]}
