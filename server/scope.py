"""A token limited to some projects: what it may see, checked where a request names a project.

Out of scope answers exactly like "does not exist" (404), so a scoped token cannot even learn
which other projects there are. Paths are checked for every protected route by ``require_token``
(``project_id``, ``experiment_id``, ``log_id``, ``artifact_id``); routes that name objects in
their query or body, and lists, call the helpers below.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from fastapi import HTTPException, Request

from trackboard.errors import NotFoundError
from trackboard.store.sql import Store

from .auth import LOCAL, Principal, principal_of


def _project_name(store: Store, kind: str, object_id: str) -> str | None:
    from .api import queries  # the API's lookups by id

    try:
        if kind == "project_id":
            return store.get_project_by_id(object_id)["name"]
        if kind == "experiment_id":
            experiment_id = object_id
        elif kind == "log_id":
            experiment_id = queries.log_by_id(store, object_id)["experiment_id"]
        elif kind == "artifact_id":
            experiment_id = queries.artifact_by_id(store, object_id)["experiment_id"]
        else:
            return None
        return store.get_project_by_id(store.get_experiment_by_id(experiment_id)["project_id"])["name"]
    except NotFoundError:
        return None  # missing: the route answers its own 404


def check_path_scope(store: Store, principal: Principal, path_params: Mapping[str, str]) -> None:
    """404 when a path parameter names an object in a project the token may not see."""
    for kind in ("project_id", "experiment_id", "log_id", "artifact_id"):
        if kind in path_params:
            name = _project_name(store, kind, str(path_params[kind]))
            if name is not None and not principal.sees(name):
                raise HTTPException(status_code=404, detail=f"no such {kind.removesuffix('_id')} on this server")


def principal(request: Request) -> Principal:
    return principal_of(request) or LOCAL


def check_project(request: Request, project: Mapping) -> None:
    """NotFoundError unless the request's token may see ``project`` (a project row)."""
    if not principal(request).sees(project["name"]):
        raise NotFoundError("no such project on this server")


def check_experiment(request: Request, store: Store, experiment_id: str) -> None:
    """NotFoundError unless the experiment exists in a project the token may see."""
    who = principal(request)
    if who.projects is None:
        return
    if _project_name(store, "experiment_id", experiment_id) not in who.projects:
        raise NotFoundError(f"no experiment with id {experiment_id[:64]!r}")


def visible_experiment(request: Request, store: Store, experiment_id: str) -> bool:
    """Whether the experiment exists in a project the token may see."""
    try:
        check_experiment(request, store, experiment_id)
    except NotFoundError:
        return False
    return True


def check_blob(request: Request, store: Store, sha256: str) -> None:
    """NotFoundError unless a token limited to projects may see the blob ``sha256`` (held by an
    artifact or image of one of its experiments); an unscoped token sees every blob."""
    if principal(request).projects is None:
        return
    from .api import queries

    for experiment_id in queries.experiments_with_blob(store, sha256):
        try:
            check_experiment(request, store, experiment_id)
            return
        except NotFoundError:
            continue
    raise NotFoundError("no stored blob with that digest")


def visible(request: Request, projects: Iterable[Mapping]) -> list:
    """The project rows the request's token may see."""
    who = principal(request)
    return [row for row in projects if who.sees(row["name"])]
