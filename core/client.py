"""Client: the entry point, on the embedded store or a tracking server."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .config import resolve
from .errors import AlreadyExistsError, NotFoundError
from .experiment import Experiment
from .normalise import check_name, check_text
from .project import Project

if TYPE_CHECKING:
    from .backend import Backend


class Client:
    """Projects and experiments, stored locally or on a tracking server.

    >>> client = Client()                                    # doctest: +SKIP
    >>> client = Client(api_token, host="http://tracking:8080")  # doctest: +SKIP

    Without a host (argument or ``TRACKBOARD_HOST``) it uses the embedded store in ``directory``
    (``TRACKBOARD_DIR``, default ``./.trackboard``); the token only matters for a server.
    """

    def __init__(
        self,
        api_token: str | None = None,
        host: str | None = None,
        *,
        directory: str | os.PathLike | None = None,
        mode: str | None = None,
    ) -> None:
        settings = resolve(api_token, host, None if directory is None else os.fspath(directory), mode)
        self.settings = settings
        self._backend: Backend = _open_backend(settings)

    # -- projects ---------------------------------------------------------------------------

    def create_project(self, name: str, description: str | None = None) -> Project:
        check_name(name, "a project name")
        if description is not None:
            check_text(description, "a description", nul=False)
        return Project(self._backend, self._backend.create_project(name, description))

    def get_project(self, name: str) -> Project:
        """The project ``name`` (NotFoundError if there is none)."""
        return Project(self._backend, self._backend.get_project(name))

    def get_project_by_id(self, project_id: str) -> Project:
        return Project(self._backend, self._backend.get_project_by_id(project_id))

    def get_or_create_project(self, name: str, description: str | None = None) -> Project:
        try:
            return self.get_project(name)
        except NotFoundError:
            try:
                return self.create_project(name, description)
            except AlreadyExistsError:  # another process created it meanwhile
                return self.get_project(name)

    def list_projects(self) -> list[Project]:
        return [Project(self._backend, row) for row in self._backend.list_projects()]

    def get_experiment_by_id(self, experiment_id: str) -> Experiment:
        return Experiment(self._backend, self._backend.get_experiment_by_id(experiment_id))

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything logged through this client's store is durable."""
        self._backend.flush(timeout)

    def __repr__(self) -> str:
        where = self.settings.host or os.path.abspath(self.settings.directory)
        return f"Client({where!r}, mode={self.settings.mode!r})"


def _open_backend(settings: Any) -> "Backend":
    if settings.mode == "disabled":
        from .disabled import DisabledBackend

        return DisabledBackend()
    if settings.host:
        from .remote import remote_backend  # the tracking-server client

        return remote_backend(settings)
    from .backend import local_backend

    return local_backend(settings.directory)
