"""Projects: ``client.create_project / get_project / get_project_by_id / list_projects``."""

from __future__ import annotations

import uuid

from fastapi import Query, Request, Response

from trackboard.server.scope import check_project, principal, visible

from . import queries
from .deps import PageDep, StoreDep, api_router, check_organization, checked_name, checked_text, project_out
from .errors import ROLE, ApiError, responses
from .schemas import Items, ProjectIn, ProjectOut, ProjectUpdate

router = api_router(tags=["projects"])
ORG = "/api/organization/{organization_id}"


@router.post(f"{ORG}/projects", status_code=201, response_model=ProjectOut, responses=responses(400, 404, 409))
def create_project(organization_id: uuid.UUID, body: ProjectIn, request: Request, store: StoreDep) -> dict:
    check_organization(organization_id)
    name = checked_name(body.name, "a project name")
    check_project(request, {"name": name})  # a scoped token creates only projects of its scope
    return project_out(store.create_project(name, checked_text(body.description, "a description")))


@router.get(f"{ORG}/projects/find", response_model=ProjectOut, responses=responses(400, 404))
def find_project(
    organization_id: uuid.UUID, request: Request, store: StoreDep,
    name: str | None = Query(None, max_length=256), id: uuid.UUID | None = None,
) -> dict:
    check_organization(organization_id)
    if id is not None:
        row = store.get_project_by_id(str(id))
    elif name is None:
        raise ApiError(400, "give the project's name or id")
    else:
        row = store.get_project(checked_name(name, "a project name"))
    check_project(request, row)
    return project_out(row)


@router.get(f"{ORG}/projects", response_model=Items[ProjectOut], responses=responses(400, 404))
def list_projects(organization_id: uuid.UUID, page: PageDep, request: Request, store: StoreDep) -> dict:
    check_organization(organization_id)
    rows = visible(request, store.list_projects())
    items, count = page.apply([project_out(row) for row in rows], ("name", "created_at"))
    return {"items": items, "count": count}


@router.get("/api/project/{project_id}", response_model=ProjectOut, responses=responses(404))
def get_project(project_id: uuid.UUID, store: StoreDep) -> dict:
    return project_out(store.get_project_by_id(str(project_id)))


@router.patch("/api/project/{project_id}", response_model=ProjectOut, responses=responses(400, 404, 409))
def update_project(project_id: uuid.UUID, body: ProjectUpdate, request: Request, store: StoreDep) -> dict:
    store.get_project_by_id(str(project_id))
    name = None if body.name is None else checked_name(body.name, "a project name")
    if name is not None and not principal(request).sees(name):
        raise ApiError(403, f"this token may not name a project {name!r} (outside its projects)")
    queries.update_project(store, str(project_id), name, checked_text(body.description, "a description"))
    return project_out(store.get_project_by_id(str(project_id)))


@router.delete("/api/project/{project_id}", status_code=204, response_class=Response, responses=responses(404),
               openapi_extra={ROLE: "admin"})
def delete_project(project_id: uuid.UUID, store: StoreDep) -> Response:
    store.get_project_by_id(str(project_id))
    store.delete_project(str(project_id))
    return Response(status_code=204)
