"""Running the app under uvicorn: ``trackboard server`` (team server) and ``trackboard ui`` (local).

Both check their port before anything else, and print what they serve once it answers (uvicorn's
own startup lines are silenced; ``--access-log`` turns its request lines on).
"""

from __future__ import annotations

import copy
import errno
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Sequence

import sqlalchemy as sa
import uvicorn
import uvicorn.config
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from trackboard.errors import TrackboardError
from trackboard.store.doctor import quick_check
from trackboard.store.sql import DATABASE_FILE, Store

from .app import create_app
from .guard import loopback_hosts


def _integrity_warning(url: str) -> None:
    """Say loudly when the database has damaged pages (the server still starts: reads may work)."""
    problems = quick_check(url)
    if problems:
        print(f"trackboard: WARNING: the database {url} is damaged: {'; '.join(problems[:3])}. "
              "Run `trackboard doctor` on it and restore a backup.", file=sys.stderr, flush=True)


def run_server(db: str, blobs: str, host: str = "127.0.0.1", port: int = 8080, workers: int = 1,
               access_log: bool = False, gc_interval_s: float = 3600.0, gc_grace_s: float = 3600.0) -> None:
    """Serve the API and dashboard over ``db`` (an SQLAlchemy URL) and a blob directory or
    ``s3://bucket/prefix``; tokens required. Every ``gc_interval_s`` (0: never) one worker deletes
    the blobs nothing refers to any more and that are older than ``gc_grace_s``."""
    check_port_free(host, port)
    if "://" not in blobs:  # a local folder (not object storage): made now, so a bad path fails here
        blobs = str(Path(blobs).expanduser().resolve())
        Path(blobs).mkdir(parents=True, exist_ok=True)
    _integrity_warning(db)  # first: a file too damaged to read its schema fails just below
    store = Store(db, blobs)  # create the schema (or refuse an old one) before any worker starts
    try:
        store.blobs.check()
    finally:
        store.close()
    os.environ.update(TRACKBOARD_SERVER_DB=db, TRACKBOARD_SERVER_BLOBS=blobs,
                      TRACKBOARD_SERVER_GC_INTERVAL=str(gc_interval_s), TRACKBOARD_SERVER_GC_GRACE=str(gc_grace_s))
    if workers > 1:  # the workers share the host's append slots (server/appends.py) through lock files here
        os.environ["TRACKBOARD_SERVER_APPEND_LOCKS"] = tempfile.mkdtemp(prefix="trackboard-server-")
    announce_when_ready(host, port, [
        f"trackboard server on {url(host, port)}",
        f"  database:   {sa.engine.make_url(db).render_as_string(hide_password=True)}",
        f"  blob store: {blobs}",
        f"  workers:    {workers}",
        f"  access log: {'on' if access_log else 'off (--access-log turns it on)'}",
        "Ctrl-C stops it.",
    ])
    config = uvicorn.Config("trackboard.server.app:app_from_env", factory=True, host=host, port=port,
                            workers=workers, access_log=access_log, log_config=log_config(access_log))
    try:
        if workers > 1:
            OneWorkerAtATime(config, sockets=[config.bind_socket()]).run()
        else:
            _serve(config)
    finally:
        if workers > 1:
            shutil.rmtree(os.environ.pop("TRACKBOARD_SERVER_APPEND_LOCKS"), ignore_errors=True)


def run_ui(directory: str, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the embedded store at ``directory`` on this machine only, without tokens."""
    check_port_free(host, port)
    _integrity_warning(f"sqlite:///{Path(directory).resolve() / DATABASE_FILE}")
    store = Store.at_directory(directory)
    try:
        announce_when_ready(host, port, [
            f"trackboard dashboard on {url(host, port)}  (store: {Path(directory).resolve()})",
            "Ctrl-C stops it.",
        ])
        # Only requests whose Host is this loopback address answer (DNS rebinding), and
        # state-changing requests from pages of other origins are refused (see ``guard``).
        app = create_app(store, require_token=False, allowed_hosts=loopback_hosts(port))
        _serve(uvicorn.Config(app, host=host, port=port, log_config=log_config(access_log=False)))
    finally:
        store.close()  # checkpoints the SQLite store: no -wal/-shm files left behind


def _serve(config: uvicorn.Config) -> None:
    server = uvicorn.Server(config)
    server.run()  # returns on Ctrl-C / SIGTERM, after a graceful shutdown
    if not server.started and not server.should_exit:
        raise TrackboardError("the server did not start (see the error above)")


class OneWorkerAtATime(Multiprocess):
    """uvicorn's worker supervisor, starting each worker once the previous one serves.

    uvicorn starts all N workers together; each imports FastAPI and builds the app (about a
    second of CPU), so on a machine with fewer free cores than workers none answers until all
    have (``--workers 4`` on 2 busy cores: 4 to 11 s). One at a time, the first answers after
    about a second and the others join it.
    """

    def init_processes(self) -> None:
        for _ in range(self.processes_num):
            process = Process(self.config, self.sockets)
            process.start()
            self.processes.append(process)
            self._wait_until_serving(process)
            if self.should_exit.is_set():
                return

    def _wait_until_serving(self, process: Process, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.process.is_alive():
            self.handle_signals()  # Ctrl-C while workers start
            if self.should_exit.is_set() or process.is_ready(timeout=1):
                return
            time.sleep(0.05)


def check_port_free(host: str, port: int) -> None:
    """Raise a one-line error naming a free port to use instead when ``port`` is taken."""
    try:
        _bind(host, port)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise TrackboardError(f"port {port} on {host} is already in use (another trackboard ui or server?): "
                              f"pass --port {free_port_after(host, port)}") from None


def free_port_after(host: str, port: int) -> int:
    """The first free port after ``port`` (or any free one)."""
    for candidate in range(port + 1, min(port + 100, 65536)):
        try:
            _bind(host, candidate)
            return candidate
        except OSError:
            continue
    return _bind(host, 0)


def _bind(host: str, port: int) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        probe.bind((host, port))
        return probe.getsockname()[1]


def url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def announce_when_ready(host: str, port: int, lines: Sequence[str], timeout: float = 120.0) -> None:
    """Print ``lines`` once ``/api/health`` answers (from a daemon thread: the server runs meanwhile)."""
    local = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    health = f"{url(local, port)}/api/health"

    def wait_then_print() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(health, timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            return
        print("\n".join(lines), flush=True)

    threading.Thread(target=wait_then_print, name="trackboard-announce", daemon=True).start()


def log_config(access_log: bool) -> dict:
    """uvicorn's logging setup with its startup lines silenced (the banner says it) and requests on demand."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["uvicorn.error"]["level"] = "WARNING"
    config["loggers"]["uvicorn.access"]["level"] = "INFO" if access_log else "WARNING"
    return config


__all__ = ["run_server", "run_ui", "check_port_free"]
