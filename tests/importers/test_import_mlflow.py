"""`trackboard import mlflow`: runs written by the real mlflow client, on its SQLite and file stores."""

from __future__ import annotations

import subprocess
import sys

import pytest

mlflow = pytest.importorskip("mlflow")
from mlflow.entities import Metric  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from trackboard import Client  # noqa: E402
from trackboard.errors import NotFoundError  # noqa: E402
from trackboard.importers import import_mlflow  # noqa: E402

T0_MS = 1_700_000_000_000


def log_history(client, run_id, key, steps, start=0):
    """Metric points at known steps and millisecond timestamps; returns (step, value, seconds)."""
    points = [(step, 1.0 / (i + 1 + start), T0_MS + 250 * (i + start)) for i, step in enumerate(steps)]
    client.log_batch(run_id, metrics=[Metric(key, value, when, step) for step, value, when in points])
    return [(step, value, when / 1000) for step, value, when in points]


@pytest.fixture(params=["sqlite", "file"])
def tracking(request, tmp_path, monkeypatch):
    """A tracking store of two experiments with finished, failed and still running runs."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 writes a file store only when asked
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}" if request.param == "sqlite" else str(tmp_path / "mlruns")
    client = MlflowClient(tracking_uri=uri)
    truth = {}
    vision = client.create_experiment("vision", artifact_location=str(tmp_path / "artifacts"))
    for name, lr, status in (("resnet-a", "0.1", "FINISHED"), ("resnet-b", "0.01", "FAILED")):
        run = client.create_run(vision, run_name=name, start_time=T0_MS, tags={"team": "cv", "baseline": ""})
        client.log_param(run.info.run_id, "lr", lr)
        client.log_param(run.info.run_id, "optimizer", "adam")
        loss = log_history(client, run.info.run_id, "loss", range(0, 300, 3))
        acc = log_history(client, run.info.run_id, "val/acc", [0, 100, 200, 200])  # a repeated step is kept
        (tmp_path / "weights.txt").write_text(f"weights of {name}")
        client.log_artifact(run.info.run_id, str(tmp_path / "weights.txt"), artifact_path="model")
        client.set_terminated(run.info.run_id, status=status, end_time=T0_MS + 90_000)
        truth[name] = {"id": run.info.run_id, "loss": loss, "val/acc": acc, "lr": lr, "status": status}
    audio = client.create_experiment("audio", artifact_location=str(tmp_path / "artifacts"))
    live = client.create_run(audio, run_name="live", start_time=T0_MS)
    truth["live"] = {"id": live.info.run_id, "loss": log_history(client, live.info.run_id, "loss", range(10))}
    return uri, client, truth


def assert_history(experiment, name, points):
    data = experiment.get_log(name).data
    assert list(zip(data["steps"], data["values"], data["times"])) == [
        (step, value, pytest.approx(when, abs=1e-6)) for step, value, when in points
    ]


def test_runs_params_metrics_tags_and_artifacts(tracking, store_dir):
    uri, _, truth = tracking
    client = Client(directory=store_dir)
    summary = import_mlflow(client, uri)
    assert (summary.created, summary.updated, summary.unchanged) == (3, 0, 0)
    assert summary.points == 2 * (100 + 4) + 10
    assert summary.files == 2
    vision = {e.name: e for e in client.get_project("vision").list_experiments()}
    assert set(vision) == {"resnet-a", "resnet-b"}
    for name, status in (("resnet-a", "SUCCESS"), ("resnet-b", "FAILED")):
        experiment = vision[name]
        assert experiment.status == status
        assert experiment.created_at == pytest.approx(T0_MS / 1000)
        assert experiment._row["finished_at"] == pytest.approx(T0_MS / 1000 + 90)
        assert experiment.get_parameters() == {"lr": float(truth[name]["lr"]), "optimizer": "adam"}
        assert_history(experiment, "loss", truth[name]["loss"])
        assert_history(experiment, "val/acc", truth[name]["val/acc"])
        assert sorted(experiment.tags) == ["baseline", "team=cv"]
        artifact = experiment.get_artifact("model/weights.txt")
        assert artifact.download(store_dir.parent / name).read_text() == f"weights of {name}"
    live = client.get_project("audio").get_experiment("live")
    assert live.status in ("RUNNING", "CRASHED") and live._row["finished_at"] is None
    assert_history(live, "loss", truth["live"]["loss"])


def test_import_again_is_idempotent_and_takes_new_points(tracking, store_dir):
    uri, mlflow_client, truth = tracking
    client = Client(directory=store_dir)
    import_mlflow(client, uri)
    again = import_mlflow(client, uri)
    assert (again.created, again.updated, again.unchanged, again.points, again.files) == (0, 0, 3, 0, 0)
    assert len(client.get_project("vision").list_experiments()) == 2

    # The live run logs more and finishes; importing again takes exactly the new points.
    more = log_history(mlflow_client, truth["live"]["id"], "loss", range(10, 25), start=10)
    mlflow_client.set_terminated(truth["live"]["id"], status="FINISHED", end_time=T0_MS + 60_000)
    resumed = import_mlflow(client, uri, experiment="audio")
    assert (resumed.created, resumed.updated, resumed.unchanged, resumed.points) == (0, 1, 0, 15)
    live = client.get_project("audio").get_experiment("live")
    assert_history(live, "loss", truth["live"]["loss"] + more)
    assert live.status == "SUCCESS" and live._row["finished_at"] == pytest.approx(T0_MS / 1000 + 60)


def test_one_project_and_errors(tracking, store_dir):
    uri, _, _ = tracking
    client = Client(directory=store_dir)
    summary = import_mlflow(client, uri, experiment="vision", project="imported")
    assert summary.created == 2 and [p.name for p in client.list_projects()] == ["imported"]
    with pytest.raises(NotFoundError, match="no MLflow experiment named 'nope'"):
        import_mlflow(client, uri, experiment="nope")


def test_cli(tracking, store_dir):
    uri, _, _ = tracking
    command = [sys.executable, "-m", "trackboard.cli", "import", "mlflow", uri, "--dir", str(store_dir)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("3 run(s): 3 new, 0 updated, 0 unchanged; 218 point(s) and 2 file(s) added")
