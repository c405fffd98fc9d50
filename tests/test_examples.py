"""The README's examples run as documented, on a fresh embedded store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from trackboard import Client

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(script: str, store: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRACKBOARD_DIR": str(store), "KERAS_BACKEND": "torch"}
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], env=env, cwd=store.parent,
                          capture_output=True, text=True, timeout=600)


def test_quickstart_logs_every_type(tmp_path):
    result = run_example("quickstart.py", tmp_path / "store")
    assert result.returncode == 0, result.stderr
    experiment = Client(directory=tmp_path / "store").get_project("My awesome Project").list_experiments()[0]
    types = {log.type.value for log in experiment.list_logs()}
    assert types == {"VALUE", "IMAGE", "LINE", "TABLE", "BAR", "HEATMAP", "LABELMAP", "EVALUATION"}
    assert experiment.status == "SUCCESS"
    assert experiment.get_log("TotalLoss").data["steps"] == [0, 1, 2, 3, 4, 5]
    assert [a.name for a in experiment.list_artifacts()] == ["model"]


def test_main_job_trains_with_every_adapter(tmp_path):
    store = tmp_path / "store"
    result = run_example("main.py", store, "--no-ui")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    client = Client(directory=store)
    experiments = [e for p in client.list_projects() for e in p.list_experiments()]
    assert len(experiments) >= 4  # the quick start + one per framework
    for experiment in experiments:
        names = {log.name for log in experiment.list_logs()}
        assert "parameters" in names, (experiment.name, names)
