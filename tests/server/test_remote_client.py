"""trackboard's own Client against a live server: the same API and the same data as the embedded store."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trackboard import Client, LogType, LogTypeConflictError, WriteError
from trackboard.errors import AuthenticationError, NotFoundError
from trackboard.remote import RemoteBackend, sync


def png_bytes(height=6, width=5) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 200, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


CASES = [
    ("VALUE", 0.5), ("VALUE", 3), ("VALUE", True), ("VALUE", "best"), ("VALUE", float("nan")), ("VALUE", "NaN"),
    ("VALUE", np.float32(0.25)),
    ("LINE", 1.5), ("LINE", [3, 1.25, float("nan"), float("inf")]), ("LINE", np.arange(5, dtype=np.float32)),
    ("LINE", {"steps": [10, 20], "values": [1.0, 2.0]}),
    ("LINE", {"loss1": [1.0, 2.0], "loss2": [3.0, 4.0], "steps": [5, 6]}),
    ("LINE", {"train": {"steps": [1, 2], "values": [0.5, 0.4], "epochs": [0, 1]}}),
    ("LINE", {"steps": 7, "epochs": 2, "loss": 0.3, "acc": 0.9}),
    ("LINE", {"steps": [1.5, 2.5], "values": [1.0, 2.0]}),
    ("TABLE", {"lr": 1e-3, "optimizer": {"name": "adam", "betas": [0.9, 0.999]}, "nan": float("nan")}),
    ("TABLE", {"data": [[1, "a"], [2, "b"]], "rows": ["r1", "r2"], "columns": ["n", "s"]}),
    ("BAR", {"x": ["cat", "dog"], "y": [3, float("-inf")]}),
    ("HEATMAP", {"categories": ["a", "b"], "values": np.array([[1, 2, 0], [3, 4, 1], [0, 1, 0]])}),
    ("LABELMAP", ["cat", "dog"]),
    ("EVALUATION", {"metrics": {"acc": 0.9}, "per_class": {"cat": {"f1": 0.8}},
                    "samples": [{"ground_truth": "cat", "prediction": "dog", "score": 0.7, "id": 3}], "split": "val"}),
    ("IMAGE", "png-bytes"), ("IMAGE", "array"),
]


def without_times(data):
    """LINE data without wall-clock times (they differ between two runs)."""
    if isinstance(data, dict):
        return {key: without_times(value) for key, value in data.items() if key != "times"}
    return data


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def image_data(kind):
    return png_bytes() if kind == "png-bytes" else np.zeros((4, 3, 3), dtype=np.uint8)


@pytest.mark.parametrize("log_type, data", CASES, ids=[f"{t}-{i}" for i, (t, _) in enumerate(CASES)])
def test_every_type_round_trips_like_the_embedded_store(remote, tmp_path, request, log_type, data):
    if log_type == "IMAGE":
        data = image_data(data)
    local = Client(directory=tmp_path / "local")
    results = []
    for client in (local, remote()):
        experiment = client.get_or_create_project("types").create_experiment(request.node.callspec.id)
        experiment.log("item", data, log_type)
        experiment.log("item", data, log_type)  # LINE appends, the rest replace
        log = experiment.get_log("item")
        results.append((log.type, without_times(log.data), log.read_bytes() if log_type == "IMAGE" else None))
    assert results[0][0] == results[1][0] == LogType.parse(log_type)
    assert same(results[0][1], results[1][1]), results
    assert results[0][2] == results[1][2]


def test_lines_append_continue_and_replace(remote):
    experiment = remote().get_or_create_project("lines").create_experiment("run")
    for i in range(1000):
        experiment.log("loss", float(i), LogType.LINE)
    experiment.log("loss", {"steps": [5000], "values": [1.0]}, LogType.LINE)
    experiment.log("loss", 2.0, LogType.LINE)
    data = experiment.get_log("loss").data
    assert data["steps"] == list(range(1000)) + [5000, 5001]
    experiment.log("loss", [7.0], LogType.LINE, replace=True)
    assert experiment.get_log("loss").data["values"] == [7.0]


def test_conflicts_are_refused_on_the_callers_thread(remote):
    client = remote()
    experiment = client.get_or_create_project("conflicts").create_experiment("run")
    experiment.log("x", 1.0, LogType.VALUE)
    experiment.flush()
    again = client.get_project("conflicts").get_experiment("run")  # kinds come from the server
    with pytest.raises(LogTypeConflictError):
        again.log("x", [1.0], LogType.LINE)
    again.log("x", [1.0], LogType.LINE, replace=True)
    assert again.get_log("x").type is LogType.LINE


@pytest.mark.filterwarnings("ignore:trackboard. a logged record could not be stored")
def test_records_the_server_refuses_make_flush_raise(remote, tmp_path):
    first = remote()
    second = remote(directory=tmp_path / "second")
    mine = first.get_or_create_project("refused").create_experiment("run")
    theirs = second.get_project("refused").get_experiment("run")
    theirs.log("warmup", 1.0, LogType.LINE)  # loads the (empty) kinds now
    mine.log("x", 1, LogType.VALUE)
    mine.flush()
    theirs.log("x", 2.0, LogType.LINE)  # the server knows better than this client
    with pytest.raises(WriteError, match="VALUE log of that name exists"):
        theirs.flush()
    assert theirs.get_log("x").data == 1


def test_projects_experiments_reads_and_status(remote):
    client = remote()
    project = client.create_project("reads", description="for reads")
    assert client.get_project("reads").id == project.id
    assert client.get_project_by_id(project.id).description == "for reads"
    assert "reads" in [p.name for p in client.list_projects()]
    with pytest.raises(NotFoundError):
        client.get_project("no-such")
    with pytest.raises(Exception, match="already exists"):
        client.create_project("reads")
    with project.create_experiment("run", parameters={"lr": 0.1}) as experiment:
        experiment.log_parameters({"batch": 32})
        experiment.log("acc", 0.9, LogType.VALUE)
        assert experiment.get_parameters() == {"lr": 0.1, "batch": 32}
        assert [log.name for log in experiment.list_logs()] == ["parameters", "acc"]
        experiment.delete_log("acc")
        assert [log.name for log in experiment.list_logs(LogType.VALUE)] == []
    assert experiment.status == "SUCCESS"
    assert client.get_experiment_by_id(experiment.id).name == "run"
    assert [e.name for e in project.list_experiments()] == ["run"]
    assert project.get_or_create_experiment("run").id == experiment.id


def test_artifacts(remote, tmp_path):
    experiment = remote().get_or_create_project("artifacts").create_experiment("run")
    source = tmp_path / "weights.bin"
    source.write_bytes(b"\x00\x01" * 5000)
    artifact = experiment.store("weights", source)
    assert (artifact.filename, artifact.size) == ("weights.bin", 10000)
    source.write_bytes(b"v2")
    experiment.store("weights", source)  # replaces
    assert [a.size for a in experiment.list_artifacts()] == [2]
    path = experiment.get_artifact("weights").download(tmp_path / "out")
    assert path.read_bytes() == b"v2"


def test_host_and_token_from_the_environment(server, monkeypatch, tmp_path, remote):
    monkeypatch.setenv("TRACKBOARD_HOST", server.url)
    monkeypatch.setenv("TRACKBOARD_API_TOKEN", server.token)
    monkeypatch.setenv("TRACKBOARD_DIR", str(tmp_path / "env"))
    client = remote(from_env=True)
    assert isinstance(client._backend, RemoteBackend)
    client.get_or_create_project("from-env")
    assert "from-env" in [p.name for p in client.list_projects()]


def test_a_wrong_token_is_a_clear_error(server, remote, monkeypatch):
    monkeypatch.setenv("TRACKBOARD_HOST", server.url)
    monkeypatch.setenv("TRACKBOARD_API_TOKEN", "tb_not-a-token")
    client = remote(from_env=True)
    with pytest.raises(AuthenticationError, match="refused the API token"):
        client.create_project("never")


def test_offline_mode_spools_then_sync_sends_everything(remote, server, tmp_path):
    offline = remote(mode="offline", directory=tmp_path / "offline")
    project = offline.get_or_create_project("offline-project")
    experiment = project.get_or_create_experiment("offline-run")
    for step in range(5000):
        experiment.log("loss", {"steps": [step], "values": [step * 0.5]}, LogType.LINE)
    experiment.log("summary", {"acc": 0.9}, LogType.TABLE)
    experiment.close()  # offline: returns once everything is in the spool
    assert len(offline._backend.spool.pending()) >= 3  # project, experiment (+ logs), status
    online = remote(directory=tmp_path / "online")
    with pytest.raises(NotFoundError):
        online.get_project("offline-project")
    assert sync(host=server.url, api_token=server.token, directory=str(tmp_path / "offline")) == 0
    assert offline._backend.spool.pending() == []
    synced = online.get_project("offline-project").get_experiment("offline-run")
    data = synced.get_log("loss").data
    assert data["steps"] == list(range(5000)) and data["values"][-1] == 4999 * 0.5
    assert synced.get_log("summary").data == {"acc": 0.9}
    assert synced.status == "SUCCESS"
    assert sync(host=server.url, api_token=server.token, directory=str(tmp_path / "offline")) == 0  # nothing left


def test_a_series_bigger_than_one_request_is_split_in_order(remote):
    experiment = remote().get_or_create_project("big").create_experiment("run")
    experiment.log("big", np.arange(1_000_000, dtype=np.float64), LogType.LINE)
    experiment.log("big", np.arange(900_000, dtype=np.float64) * 2, LogType.LINE, replace=True)
    data = experiment.get_log("big").data
    assert len(data["values"]) == 900_000
    assert data["steps"][-1] == 899_999 and data["values"][-1] == 1_799_998.0
