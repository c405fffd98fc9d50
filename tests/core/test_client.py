"""Client: the embedded store, projects, and configuration by TRACKBOARD_* environment variables."""

from __future__ import annotations

import sqlite3

import pytest

from trackboard.backend import release as release_store
from tbhelpers import image_bytes
from trackboard import Client, LogType, Project
from trackboard.errors import AlreadyExistsError, InvalidLogError, NotFoundError, TrackboardError


@pytest.fixture
def released():
    """Directories of stores a test opened itself, released afterwards."""
    directories = []
    yield directories
    for directory in directories:
        release_store(directory)


def test_embedded_store_is_sqlite_wal_with_blobs(client, store_dir, tmp_path):
    project = client.create_project("p")
    experiment = project.create_experiment("e")
    (tmp_path / "f").write_bytes(b"x")
    experiment.store("f", tmp_path / "f")
    experiment.log("l", [1.0], "line")
    experiment.flush()
    assert (store_dir / "trackboard.db").is_file()
    assert (store_dir / "blobs").is_dir()
    with sqlite3.connect(store_dir / "trackboard.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    assert "p" in repr(client) or str(store_dir) in repr(client)


def test_directory_accepts_str_and_pathlike(store_dir):
    Client(directory=str(store_dir)).create_project("p")
    assert Client(directory=store_dir).get_project("p").name == "p"


# -- projects ---------------------------------------------------------------------------------


def test_create_get_list_projects(client):
    a = client.create_project("a", description="first")
    b = client.create_project("b")
    assert isinstance(a, Project)
    assert client.get_project("a").id == a.id
    assert client.get_project("a").description == "first"
    assert client.get_project_by_id(b.id).name == "b"
    assert [p.name for p in client.list_projects()] == ["a", "b"]


def test_get_missing_project_is_not_found(client):
    with pytest.raises(NotFoundError) as caught:
        client.get_project("My awesome Project")
    assert isinstance(caught.value, LookupError)
    assert "'My awesome Project'" in str(caught.value)
    with pytest.raises(LookupError):
        client.get_project_by_id("00000000-0000-0000-0000-000000000000")


def test_duplicate_project(client):
    client.create_project("p")
    with pytest.raises(AlreadyExistsError) as caught:
        client.create_project("p")
    assert "'p'" in str(caught.value)


def test_get_or_create_project(client):
    first = client.get_or_create_project("My awesome Project")
    second = client.get_or_create_project("My awesome Project")
    assert first.id == second.id
    assert len(client.list_projects()) == 1


@pytest.mark.parametrize("name", ["", "x" * 257])
def test_project_name_validation(client, name):
    with pytest.raises(InvalidLogError):
        client.create_project(name)
    assert client.list_projects() == []


def test_design_quick_start(client):
    project = client.get_or_create_project("My awesome Project")
    experiment = project.create_experiment("baseline", parameters={"lr": 1e-3})
    experiment.log("TotalLoss", [3, 1.25, 1.4, 0.35, 0.95], LogType.LINE)
    experiment.log("accuracy", 0.95, LogType.VALUE)
    experiment.flush()
    reopened = client.get_project("My awesome Project").get_experiment("baseline")
    assert reopened.get_log("accuracy").data == 0.95
    assert reopened.get_log("TotalLoss").data["values"] == [3.0, 1.25, 1.4, 0.35, 0.95]
    assert reopened.get_parameters() == {"lr": 1e-3}


# -- configuration ----------------------------------------------------------------------------


def test_trackboard_dir_environment_variable(tmp_path, monkeypatch, released):
    directory = tmp_path / "from-env"
    released.append(directory)
    monkeypatch.setenv("TRACKBOARD_DIR", str(directory))
    client = Client()
    client.create_project("p").create_experiment("e").log("v", 1, "value")
    client.flush()
    assert (directory / "trackboard.db").is_file()


def test_directory_argument_wins_over_environment(tmp_path, monkeypatch, released):
    env_dir, arg_dir = tmp_path / "env", tmp_path / "arg"
    released.extend([env_dir, arg_dir])
    monkeypatch.setenv("TRACKBOARD_DIR", str(env_dir))
    Client(directory=arg_dir).create_project("p")
    assert (arg_dir / "trackboard.db").is_file()
    assert not (env_dir / "trackboard.db").exists()


def test_default_directory_is_dot_trackboard(tmp_path, monkeypatch, released):
    monkeypatch.chdir(tmp_path)
    released.append(tmp_path / ".trackboard")
    Client().create_project("p")
    assert (tmp_path / ".trackboard" / "trackboard.db").is_file()


def test_mode_disabled_logs_nothing(tmp_path, monkeypatch):
    directory = tmp_path / "disabled"
    monkeypatch.setenv("TRACKBOARD_DIR", str(directory))
    monkeypatch.setenv("TRACKBOARD_MODE", "disabled")
    client = Client()
    project = client.get_or_create_project("p")
    with project.create_experiment("e", parameters={"lr": 0.1}) as experiment:
        experiment.log("loss", 0.5, LogType.LINE)
        experiment.log("loss", {"steps": [1], "values": [0.4]}, "line")
        experiment.log("acc", 0.9, "value")
        experiment.log("img", image_bytes(), "image")
        experiment.flush()
        with pytest.raises(NotFoundError):
            experiment.get_log("acc")
        assert experiment.list_logs() == []
    assert experiment.status == "SUCCESS"
    client.flush()
    assert not directory.exists()


def test_mode_disabled_runs_log_parameters(tmp_path, monkeypatch):
    """Code written for a real store runs unchanged when disabled, log_parameters included."""
    monkeypatch.setenv("TRACKBOARD_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("TRACKBOARD_MODE", "disabled")
    experiment = Client().get_or_create_project("p").create_experiment("e", parameters={"lr": 0.1})
    experiment.log_parameters({"wd": 0.1})
    experiment.log_parameters({"seed": 1})
    assert experiment.get_parameters() == {}
    assert not (tmp_path / "d").exists()


def test_mode_disabled_still_validates(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKBOARD_MODE", "DISABLED")
    monkeypatch.setenv("TRACKBOARD_DIR", str(tmp_path / "d"))
    experiment = Client().get_or_create_project("p").create_experiment("e")
    with pytest.raises(InvalidLogError):
        experiment.log("x", [], "line")


def test_mode_argument_wins_over_environment(tmp_path, monkeypatch, released):
    directory = tmp_path / "online"
    released.append(directory)
    monkeypatch.setenv("TRACKBOARD_MODE", "disabled")
    Client(directory=directory, mode="online").create_project("p")
    assert (directory / "trackboard.db").is_file()


def test_unknown_mode_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKBOARD_MODE", "sometimes")
    with pytest.raises(TrackboardError) as caught:
        Client(directory=tmp_path / "x")
    assert "TRACKBOARD_MODE" in str(caught.value) and "'sometimes'" in str(caught.value)
    with pytest.raises(TrackboardError):
        Client(directory=tmp_path / "x", mode="nope")
