"""Dashboard pages and their JSON endpoints (issue 5).

``router`` holds everything: the HTML pages (``pages``), the JSON they read (``data``, under
``/ui/data``) and the static files with plotly.js (``assets``, under ``/ui/static``).
"""

from fastapi import APIRouter

from . import assets, data, pages, sweep

router = APIRouter()
router.include_router(assets.router)
router.include_router(data.router)
router.include_router(sweep.router)
router.include_router(pages.router)
# Last: any other /ui/ address gets the dashboard's "not found" page rather than FastAPI's JSON.
router.add_api_route("/ui/{rest:path}", pages.not_found_page, methods=["GET"], include_in_schema=False)
assets.warm()

__all__ = ["router"]
