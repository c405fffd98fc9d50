"""A live tracking server on 127.0.0.1: a real ``trackboard server`` process on a free port.

``server`` is shared by a module's tests (starting one takes a second or two); ``ServerProcess``
lets fault tests kill, restart and start servers of their own. Tokens come from the real CLI
(``trackboard token create``). ``remote`` builds a ``Client`` on the server whose writer thread is
stopped after the test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from trackboard import Client

# Small enough to test 413 quickly, big enough for the SDK's "large file" (over 25 MiB) path.
MAX_UPLOAD_BYTES = 30 * 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(*args: str, check: bool = True, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m trackboard.cli ARGS``."""
    return subprocess.run([sys.executable, "-m", "trackboard.cli", *args], capture_output=True, text=True,
                          check=check, env=env, timeout=timeout)


class ServerProcess:
    """``trackboard server`` over a SQLite file (or ``db``) and a blob directory (or ``blobs``)
    under ``root``, with ``workers`` worker processes and any further ``args``."""

    def __init__(self, root: Path, port: int | None = None, *, db: str | None = None, blobs: str | None = None,
                 workers: int = 1, args: tuple[str, ...] = (), **env: str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = db or f"sqlite:///{self.root / 'server.db'}"
        self.blobs = blobs or self.root / "blobs"
        self.workers, self.args = workers, tuple(args)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.max_upload_bytes = MAX_UPLOAD_BYTES
        self.env = {**os.environ, "TRACKBOARD_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES), **env}
        self.process: subprocess.Popen | None = None
        self._log = None

    def create_token(self, name: str = "tests", *options: str) -> str:
        """A new token (``options``: e.g. "--role", "read"); the module's shared one is an admin."""
        return cli("token", "create", name, "--db", self.db, *options).stdout.strip().splitlines()[-1]

    def start(self, timeout: float | None = None) -> "ServerProcess":
        timeout = timeout or (30.0 if self.workers == 1 else 90.0)  # several workers boot slowly on a busy machine
        self._log = open(self.root / "server.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "trackboard.cli", "server", "--db", self.db, "--blobs", str(self.blobs),
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers), *self.args],
            stdout=self._log, stderr=subprocess.STDOUT, env=self.env,
            start_new_session=True,  # its own process group: kill() takes its worker processes too
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}: {self.log()}")
            try:
                if requests.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the server did not become healthy in {timeout} s: {self.log()}")

    def kill(self) -> None:
        """SIGKILL to the server and its workers: no shutdown, no flushing (a crash)."""
        self._stop(signal.SIGKILL)

    def stop(self) -> None:
        self._stop(signal.SIGTERM)

    def _stop(self, sig: int) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self._signal_group(sig)
                try:
                    self.process.wait(15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(15)
            self._signal_group(signal.SIGKILL)  # any worker left behind
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture(name="cli")
def cli_fixture():
    """``cli(*args)`` runs the trackboard command line in a subprocess."""
    return cli


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database(request):
    """What the module's servers run on: ``db_for()`` -> None (a SQLite file of their own, one
    worker) or a new PostgreSQL database (served by 4 workers, as a team would)."""
    if request.param == "sqlite":
        return SimpleNamespace(kind="sqlite", workers=1, db_for=lambda: None)
    cluster = request.getfixturevalue("postgres_cluster")
    return SimpleNamespace(kind="postgres", workers=4, db_for=cluster.new_database)


@pytest.fixture(scope="module")
def server(tmp_path_factory, database):
    """A running server with a token (``server.token``), shared by the module's tests."""
    process = ServerProcess(tmp_path_factory.mktemp("server"), db=database.db_for(), workers=database.workers)
    process.token = process.create_token("tests", "--role", "admin")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """A running server of the module's own (e.g. to measure its memory), with an admin token."""
    process = ServerProcess(tmp_path_factory.mktemp("own-server"))
    process.token = process.create_token("admin", "--role", "admin")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def api(server):
    """A ``requests.Session`` carrying the token; ``api.url`` is the server's address."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {server.token}"
    session.url = server.url
    yield session
    session.close()


def close_remote(client: Client) -> None:
    """Stop a remote client's writer thread and forget its backend (so exit does not flush it)."""
    from trackboard.remote import release

    try:
        release(client._backend, timeout=30)
    except Exception:  # a test may leave refused or unsendable records behind on purpose
        pass


@pytest.fixture
def remote(server, tmp_path):
    """``remote()`` -> a Client on the live server (spool under tmp_path); closed after the test."""
    made = []

    def make(from_env: bool = False, **kwargs) -> Client:
        """A Client on the server (``from_env``: configured by TRACKBOARD_* variables only)."""
        if from_env:
            client = Client(**kwargs)
        else:
            kwargs.setdefault("directory", tmp_path / "client")
            client = Client(server.token, host=server.url, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        close_remote(client)


@pytest.fixture
def make_server(tmp_path, database):
    """``make_server(port=None, **kwargs)`` -> a ServerProcess of the test's own (not started), on
    the module's kind of database, stopped after it."""
    made = []

    def make(port: int | None = None, **kwargs) -> ServerProcess:
        kwargs.setdefault("db", database.db_for())
        kwargs.setdefault("workers", database.workers)
        process = ServerProcess(tmp_path / f"server-{len(made)}", port=port, **kwargs)
        made.append(process)
        return process

    yield make
    for process in made:
        process.stop()


@pytest.fixture
def remote_factory(tmp_path):
    """``remote_factory(server, token, **kwargs)`` -> a Client on that server, closed after the test."""
    made = []

    def make(server: ServerProcess, token: str, **kwargs) -> Client:
        kwargs.setdefault("directory", tmp_path / f"client-{len(made)}")
        client = Client(token, host=server.url, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        close_remote(client)
