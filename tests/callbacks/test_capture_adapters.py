"""The adapters' experiments record their context too (one tiny real fit per framework).

``capture=`` on an adapter wins over ``TRACKBOARD_CAPTURE``; the experiment an adapter creates
records the environment table, requirements.txt and system/ metrics at the framework's steps.
"""

from __future__ import annotations

import os
import time

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

from cbhelpers import only_experiment  # noqa: E402


@pytest.fixture(autouse=True)
def fast_sampling(monkeypatch):
    monkeypatch.setenv("TRACKBOARD_SYSTEM_INTERVAL", "0.05")


def system_logs(experiment) -> set[str]:
    return {log.name for log in experiment.list_logs() if log.name.startswith("system/")}


def assert_captured(experiment, steps: set) -> None:
    environment = experiment.get_log("environment").data
    assert environment["pid"] == os.getpid() and "trackboard" in environment["versions"]
    assert "requirements.txt" in {a.name for a in experiment.list_artifacts()}
    # close() waits a bounded time for the capture thread: on a busy machine its last sample can
    # land just after the fit returns.
    deadline = time.monotonic() + 15
    while not {"system/cpu_percent", "system/process_rss_mb"} <= system_logs(experiment) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert {"system/cpu_percent", "system/process_rss_mb"} <= system_logs(experiment)
    cpu_steps = experiment.get_log("system/cpu_percent").data["steps"]
    assert cpu_steps and set(cpu_steps) <= steps | {0}  # the framework's steps, as stored


def test_keras_fit_records_the_context(client, monkeypatch):
    from test_keras import fit

    from trackboard.callbacks.keras import TrackboardCallback

    monkeypatch.setenv("TRACKBOARD_CAPTURE", "1")
    fit(TrackboardCallback(project="p", client=client, log_every_n_steps=1), epochs=3)
    experiment = only_experiment(client)
    assert_captured(experiment, set(experiment.get_log("loss").data["steps"]))


def test_keras_capture_false_wins_over_the_environment(client, monkeypatch):
    from test_keras import fit

    from trackboard.callbacks.keras import TrackboardCallback

    monkeypatch.setenv("TRACKBOARD_CAPTURE", "1")
    fit(TrackboardCallback(project="p", client=client, capture=False), epochs=1)
    experiment = only_experiment(client)
    names = {log.name for log in experiment.list_logs()}
    assert "environment" not in names and not system_logs(experiment) and experiment.list_artifacts() == []


def test_lightning_fit_records_the_context(client, tmp_path):
    from test_lightning import fit

    from trackboard.callbacks.lightning import TrackboardLogger

    fit(TrackboardLogger(project="p", client=client, capture=True), tmp_path, max_epochs=3)
    experiment = only_experiment(client)
    assert_captured(experiment, set(experiment.get_log("train_loss").data["steps"]))


def test_transformers_trainer_records_the_context(client, tmp_path):
    from test_transformers import trainer

    from trackboard.callbacks.transformers import TrackboardCallback

    trainer(TrackboardCallback(project="p", client=client, capture=True), tmp_path).train()
    experiment = only_experiment(client)
    assert_captured(experiment, set(experiment.get_log("loss").data["steps"]))
