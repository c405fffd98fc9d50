"""Project: a named group of experiments to compare."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .errors import AlreadyExistsError, NotFoundError, TrackboardError
from .experiment import Experiment
from .logtype import LogType
from .names import run_name
from .normalise import check_name, normalise
from .query import check_max_results, parse_filter, parse_order_by

if TYPE_CHECKING:
    import pandas

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
        self, name: str | None = None, description: str | None = None, parameters: Mapping[str, Any] | None = None
    ) -> Experiment:
        """A new RUNNING experiment; ``parameters`` become its TABLE log ``parameters``.

        Without a name the run gets one, like W&B's: ``adjective-noun-N`` for the project's Nth
        run, so a script can start a new run every time it is run.
        """
        if name is not None:
            check_name(name, "an experiment name")
        if parameters:  # validate before anything is created, so a bad call leaves no experiment behind
            normalise("parameters", LogType.TABLE, parameters)
        if name is None:
            row = self._new_named_run(description)
        else:
            row = self._backend.create_experiment(self.id, name, description)
        experiment = Experiment(self._backend, row, self)
        experiment._kinds = {}  # a new experiment has no logs: skip the lookup on first log()
        if parameters:
            experiment.log("parameters", parameters, LogType.TABLE)
        return experiment

    def _new_named_run(self, description: str | None) -> dict:
        settings = self._backend.settings
        try:
            if settings is not None and settings.mode == "offline":
                raise TrackboardError("offline: the project's runs cannot be counted")
            number = len(self._backend.list_experiments(self.id)) + 1
        except TrackboardError:  # offline, or the server is away: a random number keeps names apart
            number = random.randrange(1000, 10000)
        for attempt in range(100):  # another process may take the same number meanwhile
            try:
                return self._backend.create_experiment(self.id, run_name(number + attempt), description)
            except AlreadyExistsError:
                continue
        raise AlreadyExistsError(f"could not find a free run name in project {self.name!r}")

    def get_experiment(self, name: str) -> Experiment:
        """The experiment ``name`` (NotFoundError if there is none)."""
        return Experiment(self._backend, self._backend.get_experiment(self.id, name), self)

    def get_or_create_experiment(self, name: str, **kwargs: Any) -> Experiment:
        """The experiment ``name``, created (with ``kwargs`` as for ``create_experiment``) if missing.

        Logging to it continues that run: LINE logs append, other logs are replaced.
        """
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

    # -- finding the best run (the query language is in query.py) ---------------------------

    def search_experiments(
        self, filter: str | None = None, order_by: str | Sequence[str] | None = None, max_results: int | None = None
    ) -> list[Experiment]:
        """Experiments matching ``filter``, sorted by ``order_by`` (oldest first by default).

        >>> project.search_experiments("params.lr < 0.01 and values.accuracy >= 0.9",
        ...                            order_by=["values.accuracy DESC"], max_results=5)  # doctest: +SKIP

        A malformed filter or sort key raises ``QueryError`` naming the position.
        """
        rows = self._search(filter, order_by, max_results)
        return [Experiment(self._backend, row, self) for row in rows]

    def experiments_frame(
        self, filter: str | None = None, order_by: str | Sequence[str] | None = None
    ) -> "pandas.DataFrame":
        """One row per matching run: ``id, name, status, created_at, duration, tags``, then ``params.*``,
        ``values.*``, ``last.*``, ``min.*``, ``max.*`` (needs pandas: ``trackboard[analysis]``)."""
        from .frames import experiments_frame, require_pandas

        require_pandas()
        rows = self._search(filter, order_by, None)
        return experiments_frame(rows, self._backend.experiment_summaries([row["id"] for row in rows]))

    def history_frame(self, log: str, filter: str | None = None) -> "pandas.DataFrame":
        """The LINE log ``log`` of every matching run in one long frame
        (``experiment, experiment_id, series, step, value, time, epoch``), for seaborn or plotly."""
        from .errors import NotFoundError as Missing
        from .frames import history_frame, require_pandas

        require_pandas()
        runs = []
        for experiment in self.search_experiments(filter):
            try:
                kind, data = self._backend.get_log(experiment.id, log)
            except Missing:  # a run without this log has no rows
                continue
            if kind is LogType.LINE:
                runs.append((experiment, data))
        return history_frame(runs)

    def _search(self, filter: str | None, order_by: Any, max_results: int | None) -> list[dict]:
        parse_filter(filter)  # a malformed query fails here, before any I/O
        parse_order_by(order_by)
        check_max_results(max_results)
        return self._backend.search_experiments(self.id, filter, order_by, max_results)

    def __repr__(self) -> str:
        return f"Project(name={self.name!r}, id={self.id!r})"

