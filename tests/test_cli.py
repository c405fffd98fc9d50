"""The trackboard command, run as a real subprocess against a real store."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys

from trackboard import Client, LogType


def trackboard(*args: str, directory) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trackboard.cli", *args, "--dir", str(directory)],
        capture_output=True, text=True, timeout=60,
    )


def populated(directory):
    client = Client(directory=directory)
    experiment = client.get_or_create_project("vision").create_experiment("resnet", parameters={"lr": 0.1})
    experiment.log("loss", [1.0, float("nan"), 0.25], LogType.LINE)
    experiment.log("accuracy", 0.9, LogType.VALUE)
    experiment.log("confusion", {"categories": ["a", "b"], "values": [[1, 2], [3, 4]]}, LogType.HEATMAP)
    experiment.close()
    return experiment


def test_ls_walks_projects_experiments_and_logs(tmp_path):
    experiment = populated(tmp_path)
    projects = trackboard("ls", directory=tmp_path)
    assert projects.returncode == 0 and projects.stdout.startswith("vision\t")
    experiments = trackboard("ls", "vision", directory=tmp_path)
    assert experiments.stdout.split("\t")[:2] == ["resnet", experiment.id]
    assert "SUCCESS" in experiments.stdout
    logs = trackboard("ls", "vision", "resnet", directory=tmp_path).stdout.splitlines()
    assert sorted(logs) == sorted(["parameters\tTABLE", "loss\tLINE", "accuracy\tVALUE", "confusion\tHEATMAP"])


def test_ls_of_a_missing_project_is_a_clear_error(tmp_path):
    populated(tmp_path)
    result = trackboard("ls", "nope", directory=tmp_path)
    assert result.returncode == 1
    assert "no project named 'nope'" in result.stderr


def test_export_json_is_strict_json_with_nan_kept(tmp_path):
    experiment = populated(tmp_path)
    result = trackboard("export", experiment.id, "--format", "json", directory=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "NaN," not in result.stdout  # no bare NaN token: strict parsers must accept it
    document = json.loads(result.stdout, parse_constant=lambda token: (_ for _ in ()).throw(ValueError(token)))
    logs = {log["name"]: log for log in document["logs"]}
    assert logs["loss"]["data"]["values"] == [1.0, "NaN", 0.25]
    assert logs["confusion"]["data"]["values"] == [[1, 2], [3, 4]]
    assert document["experiment"]["status"] == "SUCCESS"


def test_export_csv_has_one_row_per_point(tmp_path):
    experiment = populated(tmp_path)
    output = tmp_path / "export.csv"
    result = trackboard("export", experiment.id, "--format", "csv", "--output", str(output), directory=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(output.read_text())))
    points = [row for row in rows if row["log"] == "loss"]
    assert [row["step"] for row in points] == ["0", "1", "2"]
    assert math.isnan(float(points[1]["value"])) and float(points[2]["value"]) == 0.25
    assert {row["log"] for row in rows} == {"parameters", "loss", "accuracy", "confusion"}


def test_export_of_an_unknown_experiment_fails_cleanly(tmp_path):
    populated(tmp_path)
    result = trackboard("export", "00000000-0000-0000-0000-000000000000", directory=tmp_path)
    assert result.returncode == 1 and "no experiment with id" in result.stderr


def test_ls_commit_shows_the_commit_each_experiment_ran(tmp_path):
    import os

    repo, store = tmp_path / "repo", tmp_path / "store"
    repo.mkdir()
    for args in (("init", "-q"), ("config", "user.email", "t@example.com"), ("config", "user.name", "T")):
        subprocess.run(["git", *args], cwd=repo, check=True)
    (repo / "train.py").write_text(
        "import sys\nfrom trackboard import Client\n"
        "Client().get_or_create_project('vision').create_experiment(sys.argv[1]).close()\n")
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "one"], cwd=repo, check=True)
    env = {**os.environ, "TRACKBOARD_DIR": str(store), "TRACKBOARD_CAPTURE": "1", "TRACKBOARD_SYSTEM_INTERVAL": "0"}
    subprocess.run([sys.executable, "train.py", "clean"], cwd=repo, env=env, check=True, timeout=60)
    (repo / "train.py").write_text((repo / "train.py").read_text() + "# edited\n")
    subprocess.run([sys.executable, "train.py", "dirty"], cwd=repo, env=env, check=True, timeout=60)
    Client(directory=store).get_or_create_project("vision").create_experiment("no-capture", capture=False).close()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()
    listing = trackboard("ls", "vision", "--commit", directory=store)
    assert listing.returncode == 0, listing.stderr
    rows = {line.split("\t")[0]: line.split("\t")[3] for line in listing.stdout.splitlines()}
    assert rows == {"clean": commit[:12], "dirty": commit[:12] + "-dirty", "no-capture": "-"}
    assert len(trackboard("ls", "vision", directory=store).stdout.splitlines()[0].split("\t")) == 3
