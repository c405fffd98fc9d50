"""The ASGI app: REST API and dashboard over one store, stateless between requests."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI

from trackboard.store.sql import Store


def create_app(store: Store, *, require_token: bool = True) -> FastAPI:
    """The tracking server (``require_token=True``) or the local dashboard (``False``)."""
    from .api import router as api_router
    from .dashboard import router as dashboard_router
    from .dashboard.compression import DashboardGZip

    app = FastAPI(title="trackboard", version="0.1.0", lifespan=_close_store_on_shutdown)
    app.state.store = store
    app.state.require_token = require_token
    app.include_router(api_router)
    app.include_router(dashboard_router)
    app.add_middleware(DashboardGZip)  # the dashboard's JSON answers, gzipped
    return app


@asynccontextmanager
async def _close_store_on_shutdown(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.store.close()  # the last connection to a SQLite store checkpoints it: no -wal/-shm left


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers (``--workers N``), configured by ``trackboard server``."""
    store = Store(os.environ["TRACKBOARD_SERVER_DB"], os.environ["TRACKBOARD_SERVER_BLOBS"])
    return create_app(store, require_token=os.environ.get("TRACKBOARD_SERVER_OPEN") != "1")
