"""Dashboard pages and their JSON endpoints (issue 5).

``router`` holds everything: the HTML pages (``pages``), the JSON they read (``data``, under
``/ui/data``) and the static files with plotly.js (``assets``, under ``/ui/static``).
"""

from fastapi import APIRouter

from . import assets, data, pages

router = APIRouter()
router.include_router(assets.router)
router.include_router(data.router)
router.include_router(pages.router)
assets.warm()

__all__ = ["router"]
