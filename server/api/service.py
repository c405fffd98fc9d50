"""Health check (public) and the organization routes the picsellia ``Client`` calls on start."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from .deps import CONNECTOR_ID, ORGANIZATION_ID, ORGANIZATION_NAME, api_router, check_organization
from .errors import ApiError, ApiRoute, responses
from .schemas import Health, Organization, Ping

# The picsellia SDK only warns when this is newer than itself.
SDK_VERSION = "6.37.0"

public = APIRouter(route_class=ApiRoute, tags=["service"])
router = api_router(tags=["organization"])


@public.get("/api/health", response_model=Health, summary="Health check (no token needed)")
def health() -> dict:
    return {"status": "ok"}


@router.get("/api/home/ping", response_model=Ping, summary="Who am I (picsellia Client start)")
def ping() -> dict:
    return {"sdk_version": SDK_VERSION, "default_organization": ORGANIZATION_ID, "username": "trackboard"}


_ORGANIZATION = {"id": ORGANIZATION_ID, "name": ORGANIZATION_NAME, "default_connector_id": CONNECTOR_ID}


@router.get("/api/organization/{organization_id}", response_model=Organization, responses=responses(404))
def get_organization(organization_id: uuid.UUID) -> dict:
    check_organization(organization_id)
    return _ORGANIZATION


@router.get("/api/organizations/find", response_model=Organization, responses=responses(404))
def find_organization(name: str = Query(max_length=256)) -> dict:
    if name != ORGANIZATION_NAME:
        raise ApiError(404, "no such organization on this server; it has one, named 'trackboard'")
    return _ORGANIZATION
