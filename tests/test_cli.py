"""The trackboard command, run as a real subprocess against a real store."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys

from trackboard import __version__
from trackboard import Client, LogType
from trackboard.backend import release


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
    experiments = trackboard("ls", "vision", directory=tmp_path).stdout.splitlines()
    assert experiments[0].split() == ["name", "status", "created", "duration", "values.accuracy", "id"]
    assert experiments[1].split()[:2] == ["resnet", "SUCCESS"] and experiments[1].endswith(experiment.id)
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


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKBOARD_")}
    return subprocess.run([sys.executable, "-m", "trackboard.cli", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd, env=env)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    message = result.stderr.strip()
    assert message.startswith("trackboard: ") and "\n" not in message and "Traceback" not in message, message
    return message


def test_version():
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"trackboard {__version__}"


def test_dir_accepts_the_store_or_the_folder_holding_it(tmp_path):
    populated(tmp_path / ".trackboard")
    for directory in (tmp_path, tmp_path / ".trackboard"):
        result = cli("ls", "--dir", str(directory))
        assert result.returncode == 0 and result.stdout.startswith("vision\t"), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".trackboard"]  # no trackboard.db made beside it


def test_read_only_commands_leave_no_wal_files(tmp_path):
    experiment = populated(tmp_path)
    release(tmp_path)  # this process's own connections
    for args in (["ls", "vision"], ["export", experiment.id]):
        assert cli(*args, "--dir", str(tmp_path)).returncode == 0
        assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(("-wal", "-shm"))]


def test_export_takes_a_name(tmp_path):
    populated(tmp_path)
    by_name = cli("export", "resnet", "--dir", str(tmp_path))
    assert by_name.returncode == 0, by_name.stderr
    assert json.loads(by_name.stdout)["experiment"]["name"] == "resnet"
    Client(directory=tmp_path).get_or_create_project("audio").create_experiment("resnet").close()
    release(tmp_path)
    ambiguous = one_line_error(cli("export", "resnet", "--dir", str(tmp_path)))
    assert "several projects have an experiment named 'resnet' ('vision', 'audio'): pass --project NAME" in ambiguous
    chosen = cli("export", "resnet", "--project", "audio", "--format", "csv", "--dir", str(tmp_path))
    assert chosen.returncode == 0 and chosen.stdout.startswith("log,type,series"), chosen.stderr
    assert "no experiment with id or name 'nope'" in one_line_error(cli("export", "nope", "--dir", str(tmp_path)))


def test_token_create_makes_the_database_folder(tmp_path):
    url = f"sqlite:///{tmp_path}/srv/trackboard/db.sqlite"
    created = cli("token", "create", "alice", "--db", url)
    assert created.returncode == 0 and created.stdout.startswith("tb_"), created.stderr
    listed = cli("token", "list", "--db", url)
    assert listed.stdout.split() == ["alice", "active"]
    assert sorted(p.name for p in (tmp_path / "srv" / "trackboard").iterdir()) == ["db.sqlite"]


def test_foreseeable_errors_are_one_line(tmp_path):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "trackboard.db").write_bytes(b"this is not a database" * 100)
    message = one_line_error(cli("ls", "--dir", str(corrupt)))
    assert message == f"trackboard: cannot use the database {corrupt}: file is not a database"
    message = one_line_error(cli("token", "list", "--db", f"sqlite:///{corrupt}/trackboard.db"))
    assert "file is not a database" in message
    (tmp_path / "folder.db").mkdir()  # a database path that cannot be opened as a file
    assert "unable to open database file" in one_line_error(cli("token", "list", "--db", f"sqlite:///{tmp_path}/folder.db"))
    assert "Could not parse SQLAlchemy URL" in one_line_error(cli("token", "list", "--db", "not a url"))
    (tmp_path / "file").write_text("")
    message = one_line_error(cli("server", "--db", f"sqlite:///{tmp_path}/file/db.sqlite", "--blobs", str(tmp_path / "b"),
                                 "--port", "0"))
    assert str(tmp_path / "file") in message
    missing = tmp_path / "missing"
    assert f"no trackboard store at {missing}: pass --dir" in one_line_error(cli("ls", "nope", "--dir", str(missing)))
    assert not missing.exists()
