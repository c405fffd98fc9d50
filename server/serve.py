"""Running the app under uvicorn: ``trackboard server`` (team server) and ``trackboard ui`` (local)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import uvicorn

from trackboard.store.doctor import quick_check
from trackboard.store.sql import Store

from .app import create_app
from .guard import loopback_hosts


def _integrity_warning(url: str) -> None:
    """Say loudly when the database has damaged pages (the server still starts: reads may work)."""
    problems = quick_check(url)
    if problems:
        print(f"trackboard: WARNING: the database {url} is damaged: {'; '.join(problems[:3])}. "
              "Run `trackboard doctor` on it and restore a backup.", file=sys.stderr, flush=True)


def run_server(db: str, blobs: str, host: str = "127.0.0.1", port: int = 8080, workers: int = 1) -> None:
    """Serve the API and dashboard over ``db`` (an SQLAlchemy URL) and a blob directory; tokens required."""
    Store(db, blobs)  # create the schema once, before any worker starts
    _integrity_warning(db)
    os.environ.update(TRACKBOARD_SERVER_DB=db, TRACKBOARD_SERVER_BLOBS=str(Path(blobs).resolve()))
    uvicorn.run("trackboard.server.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning")


def run_ui(directory: str, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the embedded store at ``directory`` on this machine only, without tokens.

    Only requests whose Host is this loopback address answer (DNS rebinding), and state-changing
    requests from pages of other origins are refused (see ``guard``).
    """
    store = Store.at_directory(directory)
    _integrity_warning(str(store.engine.url))
    print(f"trackboard dashboard on http://{host}:{port}  (store: {Path(directory).resolve()})", flush=True)
    app = create_app(store, require_token=False, allowed_hosts=loopback_hosts(port))
    uvicorn.run(app, host=host, port=port, log_level="warning")
