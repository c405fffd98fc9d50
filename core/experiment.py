"""Experiment: one run, holding typed logs and artifacts."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from . import lifecycle
from .errors import InvalidLogError, LogTypeConflictError, NotFoundError
from .log import Artifact, Log
from .logtype import LogType
from .normalise import check_name, normalise
from .records import Point, StepValues, to_queue

if TYPE_CHECKING:
    from .backend import Backend
    from .project import Project

FINAL_STATUSES = ("SUCCESS", "FAILED")
_parse = LogType.parse
_LINE, _IMAGE = LogType.LINE, LogType.IMAGE  # a LogType.X lookup costs ~75 ns; log() runs every step
_now = time.time


class Experiment:
    """An experiment of a project. Created by ``project.create_experiment``.

    >>> experiment.log("accuracy", 0.95, LogType.VALUE)            # doctest: +SKIP
    >>> experiment.log("loss", [3, 1.25, 0.35], "line")              # doctest: +SKIP
    """

    def __init__(self, backend: "Backend", row: dict, project: "Project | None" = None) -> None:
        self._backend = backend
        self._put = backend.put
        self._row = row
        self._project = project
        self.id: str = row["id"]
        self.name: str = row["name"]
        # name -> (type, named series?) of every log, so a conflicting log() fails on the caller's
        # thread; loaded from the store on first use.
        self._kinds: dict[str, tuple[LogType, bool | None]] | None = None
        self._kinds_lock = threading.Lock()
        self._sampler = None  # the capture thread of an experiment created here (trackboard.capture)

    # -- logging ----------------------------------------------------------------------------

    def log(self, name: str, data: Any, type: LogType | str, replace: bool = False) -> None:
        """Log ``data`` under ``name`` as a ``type`` log (see LogType for the accepted data).

        LINE appends to an existing log of that name; every other type replaces it. A log of
        another type under the same name is replaced only with ``replace=True``. Returns at once:
        the data is validated here and written by a background thread (see ``flush``).
        """
        log_type = type if type.__class__ is LogType else _parse(type)
        kinds = self._kinds if self._kinds is not None else self._load_kinds()
        known = kinds.get(name)
        if known is None:
            check_name(name)
        if log_type is _LINE:
            data = normalise(name, log_type, data)
            kind = data.__class__  # has_named_series, inline: this runs every step
            named = kind is StepValues or (kind is not Point and data[0].name is not None)
            if known is not None and not replace:
                if known[0] is not _LINE:
                    self._conflict(name, log_type, known[0])
                if known[1] is not None and known[1] is not named:
                    shape = "named series" if known[1] else "one unnamed series"
                    raise InvalidLogError(
                        f"LINE {name!r}: the log holds {shape}; log the same shape or pass replace=True"
                    )
            if known is None or known[1] is not named or replace:
                kinds[name] = (_LINE, named)
        else:
            if known is not None and known[0] is not log_type and not replace:
                self._conflict(name, log_type, known[0])
            data = normalise(name, log_type, data)
            if log_type is _IMAGE and data.content is None and not self._backend.has_blob(data.meta["sha256"]):
                raise InvalidLogError(f"IMAGE {name!r}: no stored image with sha256 {data.meta['sha256']}")
            if known is None or known[0] is not log_type:
                kinds[name] = (log_type, None)
        self._put(to_queue(self.id, name, log_type, data, replace, _now()))

    def _load_kinds(self) -> dict[str, tuple[LogType, bool | None]]:
        with self._kinds_lock:
            if self._kinds is None:
                self._kinds = self._backend.log_kinds(self.id)
        return self._kinds

    @staticmethod
    def _conflict(name: str, wanted: LogType, existing: LogType) -> None:
        raise LogTypeConflictError(
            f"{wanted.value} {name!r}: a {existing.value} log of that name exists; pass replace=True to replace it"
        )

    def log_parameters(self, parameters: Mapping[str, Any]) -> None:
        """Add hyperparameters to the TABLE log ``parameters`` (keys given again are overwritten)."""
        kinds = self._kinds if self._kinds is not None else self._load_kinds()
        known = kinds.get("parameters")
        current = self.get_parameters() if known is not None and known[0] is LogType.TABLE else {}
        self.log("parameters", {**current, **parameters}, LogType.TABLE)

    def get_parameters(self) -> dict[str, Any]:
        """The ``parameters`` table ({} when none was logged)."""
        try:
            return self.get_log("parameters").data
        except NotFoundError:
            return {}

    # -- reading ----------------------------------------------------------------------------

    def get_log(self, name: str) -> Log:
        """The log ``name`` with all its data (everything logged before this call included)."""
        log_type, data = self._backend.get_log(self.id, name)
        return Log(name, log_type, self, data, True)

    def list_logs(self, type: LogType | str | None = None) -> list[Log]:
        """Every log (data loaded when first read), optionally only those of one type."""
        wanted = None if type is None else _parse(type)
        return [
            Log(row["name"], row["type"], self)
            for row in self._backend.list_logs(self.id)
            if wanted is None or row["type"] is wanted
        ]

    def delete_log(self, name: str) -> None:
        """Delete a log and all its data."""
        self._backend.delete_log(self.id, name)
        kinds = self._kinds if self._kinds is not None else self._load_kinds()
        kinds.pop(name, None)

    # -- artifacts --------------------------------------------------------------------------

    def store(self, name: str, path: str | os.PathLike | None = None) -> Artifact:
        """Store the file at ``path`` (default: ``name``) as the artifact ``name``, replacing any."""
        path = Path(path if path is not None else name)
        if not path.is_file():
            raise NotFoundError(f"artifact {name!r}: no file at {str(path)!r}")
        return self._artifact(self._backend.add_artifact(self.id, check_name(name), path))

    def get_artifact(self, name: str) -> Artifact:
        return self._artifact(self._backend.get_artifact(self.id, name))

    def list_artifacts(self) -> list[Artifact]:
        return [self._artifact(row) for row in self._backend.list_artifacts(self.id)]

    def _artifact(self, row: dict) -> Artifact:
        return Artifact(row["name"], row["filename"], row["size"], row["sha256"], row["content_type"], self)

    # -- lifecycle --------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything logged before this call is durable (raises WriteError if not)."""
        self._backend.flush(timeout)

    def close(self, status: str = "SUCCESS", timeout: float | None = None) -> None:
        """Flush and mark the experiment finished (``SUCCESS`` or ``FAILED``).

        The status is set even when the flush fails (and the flush's error is raised after).
        """
        if status not in FINAL_STATUSES:
            raise InvalidLogError(f"an experiment closes as one of {', '.join(FINAL_STATUSES)}, got {status!r}")
        if self._sampler is not None:  # its last points and the environment go in before the flush
            self._sampler.stop()
        try:
            self.flush(timeout)
        finally:
            try:
                self._backend.set_status(self.id, status)
                self._row["status"] = status
            finally:
                lifecycle.finished(self)

    def rewind(self, step: int | float) -> None:
        """Drop every LINE point with a step greater than ``step``, from every LINE log, in one
        transaction (everything logged before the call is flushed first).

        For a run resumed from a checkpoint at ``step``: the points the abandoned attempt logged
        after it go, so the curves equal the framework's own record. Points at equal steps stay.
        """
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step != step:
            raise InvalidLogError(f"rewind needs a step number, got {step!r}")
        self.flush()
        self._backend.rewind(self.id, float(step))

    def __enter__(self) -> "Experiment":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close("FAILED" if exc_type is not None else "SUCCESS")

    @property
    def status(self) -> str:
        """RUNNING, SUCCESS, FAILED, or CRASHED when the process running it died without closing
        it (its heartbeat stopped; see ``trackboard.status``). Read now; reading changes nothing."""
        self._row = self._backend.get_experiment_by_id(self.id)
        return self._row["status"]

    @property
    def description(self) -> str | None:
        return self._row.get("description")

    @property
    def created_at(self) -> float:
        return self._row["created_at"]

    @property
    def project(self) -> "Project":
        if self._project is None:
            from .project import Project

            self._project = Project(self._backend, self._backend.get_project_by_id(self._row["project_id"]))
        return self._project

    # -- tags and notes ---------------------------------------------------------------------

    @property
    def tags(self) -> list[str]:
        """The experiment's tags, sorted."""
        return self._backend.get_tags(self.id)

    def add_tags(self, *tags: str) -> None:
        """Tag the experiment (``tags contains 'baseline'`` in run queries); existing tags stay."""
        self._backend.add_tags(self.id, _tag_list(tags))

    def remove_tags(self, *tags: str) -> None:
        """Remove these tags (ones it does not have are ignored)."""
        self._backend.remove_tags(self.id, _tag_list(tags))

    def update(self, name: str | None = None, description: str | None = None) -> None:
        """Rename and/or describe the experiment (the picsellia SDK's name for it); None keeps a field."""
        if name is not None:
            check_name(name, "an experiment name")
        if description is not None and not isinstance(description, str):
            raise InvalidLogError(f"a description must be a string, got {type(description).__name__}")
        self._row = dict(self._backend.update_experiment(self.id, name, description))
        self.name = self._row["name"]

    def delete(self) -> None:
        """Delete the experiment with all its logs and artifacts (everything logged to it first lands)."""
        self._backend.delete_experiment(self.id)

    def reopen(self) -> None:
        """Mark a finished (or crashed) experiment RUNNING again: this process continues it."""
        self._backend.set_status(self.id, "RUNNING")
        self._row["status"] = "RUNNING"
        lifecycle.started(self)

    @property
    def client_settings(self) -> dict[str, Any] | None:
        """``Client(**experiment.client_settings)`` reaches this experiment's store from any process
        (None for a store that cannot be reached by settings)."""
        settings = self._backend.settings
        return None if settings is None else dataclasses.asdict(settings)

    def __reduce__(self):
        # Pickled (e.g. for DDP spawn) as "how to reopen it": the store's settings and the id.
        settings = self.client_settings
        if settings is None:
            raise TypeError(f"experiment {self.name!r} is on a store that another process cannot open")
        return _reopen, (settings, self.id)

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r}, id={self.id!r})"


def _tag_list(tags: tuple) -> list[str]:
    # add_tags("a", "b") and add_tags(["a", "b"]) both work.
    if len(tags) == 1 and isinstance(tags[0], (list, tuple, set)):
        tags = tuple(tags[0])
    from .store.search import check_tags

    return check_tags(tags)


def _reopen(settings: dict[str, Any], experiment_id: str) -> Experiment:
    from .client import Client

    return Client(settings["api_token"], settings["host"], directory=settings["directory"],
                  mode=settings["mode"]).get_experiment_by_id(experiment_id)
