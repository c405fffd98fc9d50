"""Dashboard pages and their JSON endpoints (issue 5)."""

from fastapi import APIRouter

router = APIRouter()
