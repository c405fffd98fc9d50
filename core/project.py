"""Project: a named group of experiments to compare."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from . import lifecycle
from .errors import AlreadyExistsError, NotFoundError
from .experiment import Experiment
from .logtype import LogType
from .normalise import check_name, normalise

if TYPE_CHECKING:
    from .backend import Backend


class Project:
    """A project of a Client. ``project.create_experiment("baseline", parameters={"lr": 1e-3})``."""

    def __init__(self, backend: "Backend", row: dict) -> None:
        self._backend = backend
        self._row = row
        self.id: str = row["id"]
        self.name: str = row["name"]

    @property
    def description(self) -> str | None:
        return self._row.get("description")

    def create_experiment(
        self, name: str, description: str | None = None, parameters: Mapping[str, Any] | None = None
    ) -> Experiment:
        """A new RUNNING experiment; ``parameters`` become its TABLE log ``parameters``."""
        check_name(name, "an experiment name")
        if parameters:  # validate before anything is created, so a bad call leaves no experiment behind
            normalise("parameters", LogType.TABLE, parameters)
        experiment = Experiment(self._backend, self._backend.create_experiment(self.id, name, description), self)
        experiment._kinds = {}  # a new experiment has no logs: skip the lookup on first log()
        lifecycle.started(experiment)  # heartbeat, and a true status however this process ends
        if parameters:
            experiment.log("parameters", parameters, LogType.TABLE)
        return experiment

    def get_experiment(self, name: str) -> Experiment:
        """The experiment ``name`` (NotFoundError if there is none)."""
        return Experiment(self._backend, self._backend.get_experiment(self.id, name), self)

    def get_or_create_experiment(self, name: str, **kwargs: Any) -> Experiment:
        try:
            return self.get_experiment(name)
        except NotFoundError:
            try:
                return self.create_experiment(name, **kwargs)
            except AlreadyExistsError:  # another process created it meanwhile
                return self.get_experiment(name)

    def get_experiment_by_id(self, experiment_id: str) -> Experiment:
        row = self._backend.get_experiment_by_id(experiment_id)
        if row["project_id"] != self.id:
            raise NotFoundError(f"no experiment with id {experiment_id!r} in project {self.name!r}")
        return Experiment(self._backend, row, self)

    def list_experiments(self) -> list[Experiment]:
        """Every experiment of the project, oldest first."""
        return [Experiment(self._backend, row, self) for row in self._backend.list_experiments(self.id)]

    def __repr__(self) -> str:
        return f"Project(name={self.name!r}, id={self.id!r})"

