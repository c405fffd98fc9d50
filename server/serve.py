"""Running the app under uvicorn: ``trackboard server`` (team server) and ``trackboard ui`` (local)."""

from __future__ import annotations

import os
from pathlib import Path

import uvicorn

from trackboard.store.sql import Store

from .app import create_app


def run_server(db: str, blobs: str, host: str = "127.0.0.1", port: int = 8080, workers: int = 1,
               gc_interval_s: float = 3600.0, gc_grace_s: float = 3600.0) -> None:
    """Serve the API and dashboard over ``db`` (an SQLAlchemy URL) and a blob directory or
    ``s3://bucket/prefix``; tokens required. Every ``gc_interval_s`` (0: never) one worker deletes
    the blobs nothing refers to any more and that are older than ``gc_grace_s``."""
    store = Store(db, blobs)  # create the schema (or refuse an old one) before any worker starts
    store.blobs.check()
    store.close()
    location = blobs if blobs.startswith("s3://") else str(Path(blobs).resolve())
    os.environ.update(TRACKBOARD_SERVER_DB=db, TRACKBOARD_SERVER_BLOBS=location,
                      TRACKBOARD_SERVER_GC_INTERVAL=str(gc_interval_s), TRACKBOARD_SERVER_GC_GRACE=str(gc_grace_s))
    uvicorn.run("trackboard.server.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning")


def run_ui(directory: str, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the embedded store at ``directory`` on this machine only, without tokens."""
    store = Store.at_directory(directory)
    print(f"trackboard dashboard on http://{host}:{port}  (store: {Path(directory).resolve()})", flush=True)
    uvicorn.run(create_app(store, require_token=False), host=host, port=port, log_level="warning")
