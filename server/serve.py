"""Running the app under uvicorn: ``trackboard server`` (team server) and ``trackboard ui`` (local)."""

from __future__ import annotations

import os
from pathlib import Path

import uvicorn

from trackboard.store.sql import Store

from .app import create_app


def run_server(db: str, blobs: str, host: str = "127.0.0.1", port: int = 8080, workers: int = 1) -> None:
    """Serve the API and dashboard over ``db`` (an SQLAlchemy URL) and a blob directory; tokens required."""
    Store(db, blobs)  # create the schema once, before any worker starts
    os.environ.update(TRACKBOARD_SERVER_DB=db, TRACKBOARD_SERVER_BLOBS=str(Path(blobs).resolve()))
    uvicorn.run("trackboard.server.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning")


def run_ui(directory: str, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the embedded store at ``directory`` on this machine only, without tokens."""
    store = Store.at_directory(directory)
    print(f"trackboard dashboard on http://{host}:{port}  (store: {Path(directory).resolve()})", flush=True)
    uvicorn.run(create_app(store, require_token=False), host=host, port=port, log_level="warning")
