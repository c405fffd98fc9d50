"""Where an experiment's calls go: the embedded store here, a tracking server in ``remote.py``.

A backend is the seam between the public objects (Client, Project, Experiment) and storage: the
objects validate and normalise, the backend stores. Both backends share the background writer.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import weakref
from pathlib import Path
from typing import Any, Callable, Protocol

from . import lifecycle
from .config import Settings
from .heartbeat import Heartbeat
from .logtype import LogType
from .records import Record
from .store.points import Points
from .store.sql import Store
from .writer import BackgroundWriter


class Backend(Protocol):
    """What Client, Project and Experiment need from storage (rows are plain dicts)."""

    settings: Settings | None  # how a Client in another process reaches the same store

    def put(self, record: Record) -> None: ...
    def flush(self, timeout: float | None = None) -> None: ...
    def after_fork(self) -> None: ...

    def create_project(self, name: str, description: str | None) -> dict: ...
    def get_project(self, name: str) -> dict: ...
    def get_project_by_id(self, project_id: str) -> dict: ...
    def list_projects(self) -> list[dict]: ...

    def create_experiment(self, project_id: str, name: str, description: str | None) -> dict: ...
    def get_experiment(self, project_id: str, name: str) -> dict: ...
    def get_experiment_by_id(self, experiment_id: str) -> dict: ...
    def list_experiments(self, project_id: str) -> list[dict]: ...
    def set_status(self, experiment_id: str, status: str) -> None: ...
    def update_experiment(self, experiment_id: str, name: str | None, description: str | None) -> dict: ...
    def delete_experiment(self, experiment_id: str) -> None: ...
    def search_experiments(self, project_id: str, filter: str | None, order_by: Any,
                           max_results: int | None) -> list[dict]: ...
    def experiment_summaries(self, experiment_ids: list[str]) -> dict[str, dict]: ...
    def get_tags(self, experiment_id: str) -> list[str]: ...
    def add_tags(self, experiment_id: str, tags: list[str]) -> None: ...
    def remove_tags(self, experiment_id: str, tags: list[str]) -> None: ...
    def rewind(self, experiment_id: str, step: float) -> None: ...

    def log_kinds(self, experiment_id: str) -> dict[str, tuple[LogType, bool | None]]: ...
    def get_log(self, experiment_id: str, name: str) -> tuple[LogType, Any]: ...
    def list_logs(self, experiment_id: str) -> list[dict]: ...
    def delete_log(self, experiment_id: str, name: str) -> None: ...
    def read_blob(self, sha256: str) -> bytes: ...
    def has_blob(self, sha256: str) -> bool: ...

    def add_artifact(self, experiment_id: str, name: str, path: str | os.PathLike) -> dict: ...
    def get_artifact(self, experiment_id: str, name: str) -> dict: ...
    def list_artifacts(self, experiment_id: str) -> list[dict]: ...
    def download_artifact(self, experiment_id: str, artifact: dict, target: Path) -> None: ...


class LocalBackend:
    """A store in this process: reads go straight to it, writes through the background writer."""

    def __init__(self, store: Store, settings: "Settings | None" = None) -> None:
        self.store = store
        self.settings = settings  # how another process reaches this store (None: it cannot)
        self.writer = BackgroundWriter(store.apply)
        self.put = self.writer.put
        self.heartbeat = Heartbeat(store.beat)

    def flush(self, timeout: float | None = None) -> None:
        self.writer.flush(timeout)

    def __getattr__(self, name: str):
        # Projects, experiments, logs and artifacts are the store's own methods.
        return getattr(self.store, name)

    def get_log(self, experiment_id: str, name: str) -> tuple[LogType, Any]:
        self.writer.flush()  # "get_log sees every earlier log"
        return self.store.get_log(experiment_id, name)

    def list_logs(self, experiment_id: str) -> list[dict]:
        self.writer.flush()
        return self.store.list_logs(experiment_id)

    def delete_log(self, experiment_id: str, name: str) -> None:
        self.writer.flush()
        self.store.delete_log(experiment_id, name)

    def search_experiments(self, project_id: str, filter=None, order_by=None, max_results=None) -> list[dict]:
        self.writer.flush()  # a query sees every earlier log
        return self.store.search_experiments(project_id, filter, order_by, max_results)

    def experiment_summaries(self, experiment_ids: list[str]) -> dict[str, dict]:
        self.writer.flush()
        return self.store.experiment_summaries(experiment_ids)

    def delete_experiment(self, experiment_id: str) -> None:
        self.writer.flush()  # nothing queued for it lands after it is gone
        self.store.delete_experiment(experiment_id)

    def get_points(self, experiment_id: str, name: str) -> dict[str, Points]:
        self.writer.flush()
        return self.store.get_points(experiment_id, name)

    def read_blob(self, sha256: str) -> bytes:
        return self.store.blobs.read(sha256)

    def has_blob(self, sha256: str) -> bool:
        return self.store.blobs.exists(sha256)

    def download_artifact(self, experiment_id: str, artifact: dict, target: Path) -> None:
        self.store.blobs.copy_to(artifact["sha256"], target)

    def rewind(self, experiment_id: str, step: float) -> None:
        self.writer.flush()
        self.store.rewind(experiment_id, step)

    def after_fork(self) -> None:
        self.store.after_fork()
        self.writer.restart_after_fork()
        self.heartbeat.after_fork()

    def close(self, timeout: float | None = 30.0) -> None:
        self.heartbeat.stop()
        try:
            self.writer.close(timeout)
        finally:
            self.store.close()


# One backend (and so one writer thread) per store per process, local or remote: the key says
# which store. Every open backend is flushed at exit and restarted in forked children.
_open: dict[tuple, Any] = {}
_lock = threading.Lock()
_all_backends: "weakref.WeakSet[Any]" = weakref.WeakSet()


def shared_backend(key: tuple, open_backend: Callable[[], Any]) -> Any:
    """This process's backend for ``key``, opened by ``open_backend()`` the first time."""
    with _lock:
        backend = _open.get(key)
        if backend is None:
            backend = _open[key] = open_backend()
            _all_backends.add(backend)
        return backend


def close_backend(backend: Any, timeout: float | None = 30.0) -> None:
    """Flush and close ``backend`` and forget it (a later Client opens a new one).

    For long-lived processes and test suites: each open backend holds a writer thread and connections.
    """
    with _lock:
        for key in [key for key, value in _open.items() if value is backend]:
            del _open[key]
    _all_backends.discard(backend)
    lifecycle.forget_backend(backend)
    backend.close(timeout)


def close_all(timeout: float | None = 30.0) -> None:
    """Flush and close every backend this process opened: the last step of a command-line tool.

    Closing the last connection to a SQLite store checkpoints it and removes its -wal/-shm files.
    """
    for backend in list(_open.values()):
        close_backend(backend, timeout)


def local_backend(directory: str | os.PathLike) -> LocalBackend:
    path = Path(directory).expanduser().resolve()
    settings = Settings(directory=str(path), host=None, api_token=None, mode="online")
    return shared_backend(("local", path), lambda: LocalBackend(Store.at_directory(path), settings))


def release(directory: str | os.PathLike) -> None:
    """Flush and close this process's backend of the embedded store in ``directory``, if open."""
    backend = _open.get(("local", Path(directory).expanduser().resolve()))
    if backend is not None:
        close_backend(backend)


def _flush_all_at_exit() -> None:
    for backend in list(_all_backends):
        try:
            backend.flush(timeout=60)
        except Exception as error:  # never turn a clean exit into a traceback
            import warnings

            from .errors import TrackingWarning

            warnings.warn(f"trackboard: could not flush at exit: {error}", TrackingWarning, stacklevel=1)
    for backend in list(_all_backends):
        store = getattr(backend, "store", None)
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()  # the last connection checkpoints a SQLite store: no -wal/-shm files left
    lifecycle.still_die_by_sigint()  # our writers are done: an uncaught Ctrl-C still ends the program by SIGINT


def _restart_after_fork() -> None:
    # A forked child has no writer thread and must not share the parent's connections.
    for backend in list(_all_backends):
        backend.after_fork()


atexit.register(_flush_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_after_fork)
