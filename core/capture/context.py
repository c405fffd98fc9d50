"""Record, once, what an experiment runs on: the ``environment`` TABLE, ``requirements.txt`` and,
when the work tree has uncommitted changes, ``diff.patch``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ..logtype import LogType
from .environment import environment
from .git import diff, git_state
from .monitors.gpu import describe_gpus
from .requirements import freeze
from .warn_once import warn_once

ENVIRONMENT_LOG = "environment"
REQUIREMENTS = "requirements.txt"
DIFF = "diff.patch"


def record_context(experiment: Any) -> None:
    """Log the environment and store the artifacts; a part that fails is skipped with one warning."""
    state = git_state()
    experiment.log(ENVIRONMENT_LOG, environment(state, describe_gpus()), LogType.TABLE)
    if getattr(experiment._backend, "offline", False):
        return  # artifacts need the server; the environment table is spooled with the logs
    with tempfile.TemporaryDirectory(prefix="trackboard-capture-") as directory:
        _store(experiment, Path(directory) / REQUIREMENTS, freeze().encode("utf-8"))
        patch = diff(state) if state is not None and state.dirty else None
        if patch:
            _store(experiment, Path(directory) / DIFF, patch)


def _store(experiment: Any, path: Path, content: bytes) -> None:
    try:
        path.write_bytes(content)
        experiment.store(path.name, path)
    except Exception as error:  # noqa: BLE001 - a missing artifact must not stop the run
        warn_once(f"artifact {path.name}: {type(error).__name__}", f"could not store {path.name}: {error}")
