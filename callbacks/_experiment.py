"""Which experiment an adapter logs to: arguments, then ``TRACKBOARD_*`` variables, then defaults.

The choice is made when the adapter is built, without any I/O: a fresh experiment name is drawn
then, so every process that unpickles the adapter (DDP spawn) and the parent process afterwards
agree on it. The experiment itself is opened (or created) on first use, by ``ExperimentChoice.open``.

>>> choice = ExperimentChoice.resolve(project="mnist", experiment="baseline", client=None, framework="keras")
>>> choice.project, choice.name, choice.explicit
('mnist', 'baseline', True)
"""

from __future__ import annotations

import logging
import os
import pickle
import secrets
import sys
import time
from pathlib import Path
from typing import Any, Mapping

from trackboard import AlreadyExistsError, Client, Experiment, NotFoundError

logger = logging.getLogger("trackboard.callbacks")

ENV_PROJECT = "TRACKBOARD_PROJECT"
ENV_EXPERIMENT = "TRACKBOARD_EXPERIMENT"


def default_project_name() -> str:
    """The running script's name (``train`` for ``python train.py``), else ``default``.

    >>> isinstance(default_project_name(), str)
    True
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else None)
    if not path or path.startswith("-"):
        return "default"
    file = Path(path)
    name = file.parent.name if file.stem == "__main__" else file.stem  # python -m package
    return name if name and name not in ("ipykernel_launcher", "<stdin>") else "default"


def fresh_experiment_name(framework: str) -> str:
    """A new experiment name for one run: framework, local time and a random suffix.

    >>> fresh_experiment_name("lightning").startswith("lightning-")
    True
    """
    return f"{framework}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


class ExperimentChoice:
    """What to open: a given experiment object, or a project + experiment name (or id).

    ``explicit`` is True when the user named the experiment (argument or environment): a name
    they gave wins over an experiment id found in a checkpoint.
    """

    def __init__(
        self,
        project: str | None,
        name: str | None,
        *,
        explicit: bool,
        given: Any = None,
        experiment_id: str | None = None,
        settings: Mapping[str, Any] | None = None,
        capture: bool | None = None,
    ) -> None:
        self._project = project
        self.name = name
        self.explicit = explicit
        self.given = given
        self.experiment_id = experiment_id
        self.settings = dict(settings) if settings else None  # how to rebuild the Client elsewhere
        self.capture = capture  # for a created experiment: record its context (None: TRACKBOARD_CAPTURE)
        self.continued = False  # set by open(): the experiment existed before

    @classmethod
    def resolve(cls, project: str | None, experiment: Any, client: Client | None, framework: str) -> "ExperimentChoice":
        """Decide from arguments > ``TRACKBOARD_PROJECT`` / ``TRACKBOARD_EXPERIMENT`` > defaults."""
        settings = _client_settings(client)
        if experiment is not None and not isinstance(experiment, str):
            if not callable(getattr(experiment, "log", None)):
                raise TypeError(
                    f"experiment must be a name or an object with log(name, data, type, replace=...), "
                    f"got {type(experiment).__name__}"
                )
            name = getattr(experiment, "name", None)
            experiment_id = getattr(experiment, "id", None)
            # The project of a given object is looked up only if asked for (it may need a read).
            return cls(project, name if isinstance(name, str) else None, explicit=True, given=experiment,
                       experiment_id=experiment_id if isinstance(experiment_id, str) else None, settings=settings)
        project_name = project or os.environ.get(ENV_PROJECT) or default_project_name()
        if isinstance(experiment, str):
            return cls(project_name, experiment, explicit=True, settings=settings)
        from_env = os.environ.get(ENV_EXPERIMENT)
        if from_env:
            return cls(project_name, from_env, explicit=True, settings=settings)
        return cls(project_name, fresh_experiment_name(framework), explicit=False, settings=settings)

    @property
    def project(self) -> str:
        """The project's name (for a given experiment object: its own project's, when it has one)."""
        if self._project is None:
            self._project = _project_of(self.given) or os.environ.get(ENV_PROJECT) or default_project_name()
        return self._project

    @property
    def native(self) -> bool:
        """Whether the experiment is (or will be created as) a trackboard Experiment."""
        return self.given is None or isinstance(self.given, Experiment)

    @property
    def label(self) -> str:
        """The experiment's name when known, else its id (Lightning's ``version``)."""
        return self.name or self.experiment_id or "unknown"

    def resume(self, state: Mapping[str, Any]) -> bool:
        """Continue the experiment recorded in a checkpoint, unless the user chose one; True if taken."""
        experiment_id = state.get("experiment_id") if state else None
        if not experiment_id or self.explicit:
            return False
        self.experiment_id = experiment_id
        self.name = state.get("experiment") or self.name
        self._project = state.get("project") or self._project
        return True

    def open(self, client: Client | None = None) -> Any:
        """The experiment object, opened (or created) now."""
        if self.given is not None:
            self.continued = True  # the user's object: theirs, and maybe running already
            return self.given
        client = client or self._client()
        experiment, continued = None, False
        if self.experiment_id:
            try:
                experiment, continued = client.get_experiment_by_id(self.experiment_id), True
            except NotFoundError:
                if not self.name:
                    raise
                logger.warning("trackboard: experiment %s not found; using %r instead", self.experiment_id, self.name)
        if experiment is None:
            project = client.get_or_create_project(self.project)
            experiment, continued = _get_or_create(project, self.name, likely_exists=self.explicit,
                                                   capture=self.capture)
        # Opening is reading: only a run that starts training reopens a continued experiment
        # (TrackedRun.start), so a parent process looking at it after DDP spawn changes nothing.
        self.continued = continued
        self.experiment_id, self.name = experiment.id, experiment.name
        return experiment

    def _client(self) -> Client:
        if self.settings:
            return Client(self.settings.get("api_token"), self.settings.get("host"),
                          directory=self.settings.get("directory"), mode=self.settings.get("mode"))
        return Client()

    # Pickled for DDP spawn: keep names, ids and client settings; a live experiment object goes
    # only if it pickles (a trackboard Experiment does not: it is reopened by id instead).
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        given = state.get("given")
        if isinstance(given, Experiment):
            state["given"] = None
            state["experiment_id"] = given.id
            state["_project"] = self.project
            state["settings"] = state["settings"] or _experiment_settings(given)
        elif given is not None:
            try:
                pickle.dumps(given)
            except Exception:  # noqa: BLE001
                logger.warning("trackboard: the experiment object %r cannot be pickled; a copy of this "
                               "adapter in another process will not log", given)
                state["given"] = _Unpicklable(repr(given))
        return state


def _get_or_create(project: Any, name: str, likely_exists: bool, capture: bool | None = None) -> tuple[Any, bool]:
    """(the experiment ``name``, whether it existed), trying the likelier of get and create first.

    A name the user gave usually exists (a continued run); a freshly drawn one never does.
    """
    try:
        if likely_exists:
            return project.get_experiment(name), True
        return project.create_experiment(name, capture=capture), False
    except NotFoundError:
        return project.create_experiment(name, capture=capture), False
    except AlreadyExistsError:  # another process created it meanwhile
        return project.get_experiment(name), True


class _Unpicklable:
    """Stands in, in another process, for an experiment object that could not be pickled."""

    def __init__(self, description: str) -> None:
        self.description = description

    def log(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"the experiment {self.description} could not be sent to this process")


def _client_settings(client: Client | None) -> dict[str, Any] | None:
    if client is None:
        return None
    settings = client.settings
    directory = None if settings.host else os.path.abspath(settings.directory)  # the cwd may change
    return {"api_token": settings.api_token, "host": settings.host, "directory": directory, "mode": settings.mode}


def _experiment_settings(experiment: Experiment) -> dict[str, Any] | None:
    """How to reach ``experiment``'s store from another process (None when it cannot be told)."""
    return experiment.client_settings if isinstance(experiment, Experiment) else None


def _project_of(experiment: Any) -> str | None:
    if not isinstance(experiment, Experiment):
        return None
    try:
        return experiment.project.name
    except Exception:  # noqa: BLE001 - only a display name: fall back to the defaults
        return None
