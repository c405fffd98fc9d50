"""REST API (issue 4: picsellia-compatible routes, batched appends)."""

from fastapi import APIRouter

router = APIRouter()
