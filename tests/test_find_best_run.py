"""The README's "Finding the best run" example runs as printed, twice in a row, on a fresh store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from trackboard import Client
from trackboard.backend import release

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "find_best_run.py"


def test_the_find_best_run_example(tmp_path):
    env = {**os.environ, "TRACKBOARD_DIR": str(tmp_path / "store")}
    for _ in range(2):  # a script is run many times
        result = subprocess.run([sys.executable, str(EXAMPLE)], env=env, cwd=tmp_path, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("lr-0.001 ['sweep']")
    readme = (EXAMPLE.parents[1] / "README.md").read_text()
    code = EXAMPLE.read_text().split('"""', 2)[2].strip().splitlines()
    printed = [line for line in code if not line.startswith("print(")]
    assert "\n".join(printed) in readme  # the README shows this code
    try:
        project = Client(directory=tmp_path / "store").get_project("sweep")
        assert project.get_experiment("lr-0.001").description == "best of the sweep"
    finally:
        release(tmp_path / "store")
