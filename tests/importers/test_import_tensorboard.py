"""`trackboard import tensorboard`: event files written by the real writers, read back point by point."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("tensorboard")
from PIL import Image as PILImage  # noqa: E402
from torch.utils.tensorboard import SummaryWriter  # noqa: E402

from trackboard import Client, LogType  # noqa: E402
from trackboard.errors import NotFoundError  # noqa: E402
from trackboard.importers import import_tensorboard  # noqa: E402

T0 = 1_700_000_000.0


def write_run(folder, steps, offset=0.0, hparams=None, text=None, images=()):
    """A run written with torch's SummaryWriter at known wall times; returns what was written."""
    writer = SummaryWriter(str(folder))
    written = {"train/loss": [], "val/acc": []}
    for step in steps:
        loss, acc, when = 1.0 / (step + 1) + offset, step / 100 + offset, T0 + step * 0.5 + offset
        writer.add_scalar("train/loss", loss, step, walltime=when)
        written["train/loss"].append((step, loss, when))
        if step % 10 == 0:
            writer.add_scalar("val/acc", acc, step, walltime=when)
            written["val/acc"].append((step, acc, when))
    for step, content in text or ():
        writer.add_text("notes", content, step, walltime=T0)
    for step, pixels in images:
        writer.add_image("samples", pixels, step, dataformats="HWC", walltime=T0 + step)
    if hparams:
        writer.add_hparams(hparams, {"hp/final_acc": 0.5})
    writer.close()
    return written


def assert_series(experiment, name, written):
    data = experiment.get_log(name).data
    steps, values, times = zip(*written)
    assert data["steps"] == list(steps)
    assert np.array_equal(np.float32(data["values"]), np.float32(values))  # TensorBoard keeps float32
    assert data["times"] == pytest.approx(list(times), abs=1e-6)


@pytest.fixture
def logdir(tmp_path):
    root = tmp_path / "runs"
    truth = {
        "lr-0.1": write_run(root / "lr-0.1", range(30), hparams={"lr": 0.1, "optimizer": "adam", "layers": 3},
                            text=[(0, "first try"), (5, "lowered lr")]),
        "lr-0.01": write_run(root / "lr-0.01", range(20), offset=0.25, hparams={"lr": 0.01, "optimizer": "sgd", "layers": 3}),
        "sweep/seed-1": write_run(root / "sweep" / "seed-1", range(12)),
    }
    return root, truth


def test_every_run_point_step_and_time(logdir, store_dir):
    root, truth = logdir
    client = Client(directory=store_dir)
    summary = import_tensorboard(client, root, project="tb")
    assert (summary.created, summary.updated, summary.unchanged) == (3, 0, 0)
    assert summary.points == sum(len(series) for run in truth.values() for series in run.values()) + 2  # + hp/final_acc
    project = client.get_project("tb")
    by_name = {e.name: e for e in project.list_experiments()}
    assert set(by_name) == set(truth)  # add_hparams' child folders fold into their runs
    for name, written in truth.items():
        experiment = by_name[name]
        for log_name, points in written.items():
            assert_series(experiment, log_name, points)
        assert experiment.status == "SUCCESS"
        assert experiment.created_at == pytest.approx(min(t for _, _, t in written["train/loss"]), abs=1e-3)
    assert by_name["lr-0.1"].get_parameters() == {"lr": 0.1, "optimizer": "adam", "layers": 3}
    assert by_name["lr-0.01"].get_parameters() == {"lr": 0.01, "optimizer": "sgd", "layers": 3}
    assert by_name["sweep/seed-1"].get_parameters() == {}
    assert by_name["lr-0.1"].get_log("notes").data == {"0": "first try", "5": "lowered lr"}
    assert by_name["lr-0.1"].get_log("hp/final_acc").type is LogType.LINE


def test_importing_again_changes_nothing_and_resumes_a_growing_run(logdir, store_dir):
    root, truth = logdir
    client = Client(directory=store_dir)
    import_tensorboard(client, root, project="tb")
    project = client.get_project("tb")
    before = {e.name: (e.id, e.get_log("train/loss").data) for e in project.list_experiments()}

    again = import_tensorboard(client, root, project="tb")
    assert (again.created, again.updated, again.unchanged, again.points, again.files) == (0, 0, 3, 0, 0)
    assert {e.name: (e.id, e.get_log("train/loss").data) for e in project.list_experiments()} == before

    # The run goes on writing (a new event file in the same folder, as a resumed writer makes).
    more = write_run(root / "sweep" / "seed-1", range(12, 40))
    resumed = import_tensorboard(client, root, project="tb")
    assert (resumed.created, resumed.updated, resumed.unchanged) == (0, 1, 2)
    assert resumed.points == len(more["train/loss"]) + len(more["val/acc"])
    seed = project.get_experiment("sweep/seed-1")
    assert_series(seed, "train/loss", truth["sweep/seed-1"]["train/loss"] + more["train/loss"])
    assert_series(seed, "val/acc", truth["sweep/seed-1"]["val/acc"] + more["val/acc"])


def test_images_keep_every_step(tmp_path, store_dir):
    rng = np.random.default_rng(0)
    frames = [(step, rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)) for step in (0, 10, 20)]
    write_run(tmp_path / "runs" / "a", range(3), images=frames)
    client = Client(directory=store_dir)
    summary = import_tensorboard(client, tmp_path / "runs", project="tb")
    assert summary.files == 3
    experiment = client.get_project("tb").get_experiment("a")
    store = client._backend.store
    history = store.image_history(experiment.id, "samples")
    assert [entry["filename"] for entry in history] == ["samples_step_0.png", "samples_step_10.png", "samples_step_20.png"]
    for entry, (_, pixels) in zip(history, frames):
        assert np.array_equal(np.asarray(PILImage.open(io.BytesIO(store.blobs.read(entry["sha256"])))), pixels)
    assert experiment.get_log("samples").data["filename"] == "samples_step_20.png"  # the log shows the last
    assert import_tensorboard(client, tmp_path / "runs", project="tb").files == 0


def test_missing_or_empty_logdir_is_a_clear_error(tmp_path, store_dir):
    client = Client(directory=store_dir)
    with pytest.raises(NotFoundError, match="no TensorBoard log directory"):
        import_tensorboard(client, tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFoundError, match="no TensorBoard event files"):
        import_tensorboard(client, tmp_path / "empty")
    assert client.list_projects() == []


def test_cli_prints_a_summary(logdir, store_dir):
    root, _ = logdir
    command = [sys.executable, "-m", "trackboard.cli", "import", "tensorboard", str(root), "--dir", str(store_dir)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("3 run(s): 3 new, 0 updated, 0 unchanged")
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert second.stdout.startswith("3 run(s): 0 new, 0 updated, 3 unchanged; 0 point(s) and 0 file(s) added")
    names = {e.name for e in Client(directory=store_dir).get_project("runs").list_experiments()}
    assert names == {"lr-0.1", "lr-0.01", "sweep/seed-1"}
