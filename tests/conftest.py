"""Shared fixtures: a fresh embedded store per test, on real SQLite files.

``store_dir`` is an empty directory, ``client`` a ``Client`` on it, ``project`` and ``experiment``
a project and a RUNNING experiment of that client. The store's writer thread and connections are
released after each test so hundreds of tests do not leave hundreds of idle writer threads behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trackboard import Client
from trackboard.backend import release

ENV_VARS = (
    "TRACKBOARD_DIR",
    "TRACKBOARD_HOST",
    "TRACKBOARD_API_TOKEN",
    "TRACKBOARD_PROJECT",
    "TRACKBOARD_EXPERIMENT",
    "TRACKBOARD_MODE",
    "TRACKBOARD_SYSTEM_INTERVAL",
)


@pytest.fixture(autouse=True, scope="session")
def _capture_off_by_default():
    """Context capture off for module- and session-scoped fixtures too (see below)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRACKBOARD_CAPTURE", "0")
        yield


@pytest.fixture(autouse=True)
def _clean_trackboard_env(monkeypatch):
    """Tests never see the developer's TRACKBOARD_* settings.

    Context capture is off unless a test turns it on (``capture=True`` or TRACKBOARD_CAPTURE=1):
    tests that count an experiment's logs, artifacts or threads are not about capture.
    """
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRACKBOARD_CAPTURE", "0")


def release_store(directory: str | os.PathLike) -> None:
    """Stop the writer thread of the store in ``directory`` and close its connections."""
    try:
        release(directory)
    except Exception:  # a test may leave refused records behind on purpose
        pass


@pytest.fixture(scope="session")
def postgres_cluster():
    """One throwaway PostgreSQL cluster for the session (``.new_database()`` per user)."""
    pytest.importorskip("psycopg")
    from pg_cluster import BIN, PostgresCluster

    if not BIN:
        pytest.skip("PostgreSQL server binaries are not installed")
    cluster = PostgresCluster()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def s3_server():
    """moto's standalone S3 server on 127.0.0.1 for the session (``.new_bucket()`` per user)."""
    pytest.importorskip("boto3")
    pytest.importorskip("moto.server")
    from s3_server import S3Server

    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """This process's AWS settings point at the test S3 server."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return s3_server.env


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """An empty directory for an embedded store."""
    directory = tmp_path / "store"
    yield directory
    release_store(directory)


@pytest.fixture
def client(store_dir: Path) -> Client:
    return Client(directory=store_dir)


@pytest.fixture
def project(client: Client):
    return client.get_or_create_project("test-project")


@pytest.fixture
def experiment(project):
    return project.create_experiment("test-experiment")
