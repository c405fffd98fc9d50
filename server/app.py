"""The ASGI app: REST API and dashboard over one store, stateless between requests."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI

from trackboard.store.sql import Store

from .appends import AppendLimit, host_slots_from_env
from .guard import Policies, RequestGuard


def create_app(store: Store, *, require_token: bool = True, allowed_hosts: frozenset[str] | None = None) -> FastAPI:
    """The tracking server (``require_token=True``) or the local dashboard (``False``).

    ``allowed_hosts``: the only Host headers answered (``trackboard ui`` gives its loopback address).
    """
    from .api import router as api_router
    from .dashboard import router as dashboard_router
    from .dashboard.answers import Answers
    from .dashboard.compression import DashboardGZip

    app = FastAPI(title="trackboard", version="0.1.0", lifespan=_close_store_on_shutdown)
    app.state.store = store
    app.state.require_token = require_token
    app.state.answers = Answers()  # the dashboard's chart answers, by log version
    app.include_router(api_router)
    app.include_router(dashboard_router)
    app.add_middleware(RequestGuard, policies=Policies(app), allowed_hosts=allowed_hosts)
    app.add_middleware(DashboardGZip)  # the dashboard's JSON answers, gzipped
    # Outermost: an append waits here before anything reads its body.
    app.add_middleware(AppendLimit, host=host_slots_from_env())
    return app


@asynccontextmanager
async def _close_store_on_shutdown(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.store.close()  # the last connection to a SQLite store checkpoints it: no -wal/-shm left


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers (``--workers N``), configured by ``trackboard server``.

    Tokens are always required: there is no switch that turns authentication off on a server.
    """
    if os.environ.get("TRACKBOARD_SERVER_OPEN"):
        raise RuntimeError("TRACKBOARD_SERVER_OPEN is no longer supported: a tracking server always requires "
                           "tokens; use `trackboard ui` for a local dashboard without them")
    from .gc import start_periodic_gc

    store = Store(os.environ["TRACKBOARD_SERVER_DB"], os.environ["TRACKBOARD_SERVER_BLOBS"])
    start_periodic_gc(store, float(os.environ.get("TRACKBOARD_SERVER_GC_INTERVAL", "3600")),
                      float(os.environ.get("TRACKBOARD_SERVER_GC_GRACE", "3600")))
    return create_app(store)
