"""Damage checks of a store: ``trackboard doctor`` and the integrity check a server runs on start.

SQLite reports damaged pages with ``PRAGMA integrity_check`` (``quick_check`` is the fast subset
a server runs before it answers); every store is also checked for rows whose blob file is gone.
PostgreSQL keeps its own integrity, so only the blob check applies there.
"""

from __future__ import annotations

import json
import os

import sqlalchemy as sa

from . import schema as t
from .blobs import BlobStore, open_blob_store
from .engine import create_engine, is_sqlite

MAX_REPORTED = 20


def quick_check(url: str) -> list[str]:
    """Problems SQLite's ``quick_check`` finds in the database at ``url`` ([] when it is sound)."""
    engine = create_engine(url)
    try:
        if not is_sqlite(engine):
            return []
        with engine.connect() as conn:
            rows = [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check").all()]
        return [] if rows == ["ok"] else [f"database: {row}" for row in rows[:MAX_REPORTED]]
    except sa.exc.DatabaseError as error:
        return [f"database cannot be read: {error.orig}"]
    finally:
        engine.dispose()


def check_store(url: str, blob_root: str | os.PathLike) -> list[str]:
    """Every problem found: damaged database pages, broken references, missing blob files."""
    engine = create_engine(url)
    problems: list[str] = []
    try:
        with engine.connect() as conn:
            if is_sqlite(engine):
                rows = [row[0] for row in conn.exec_driver_sql("PRAGMA integrity_check").all()]
                if rows != ["ok"]:
                    problems += [f"database: {row}" for row in rows[:MAX_REPORTED]]
                    return problems  # reading rows from a damaged file proves little more
                for row in conn.exec_driver_sql("PRAGMA foreign_key_check").all()[:MAX_REPORTED]:
                    problems.append(f"database: a row of {row[0]} refers to a missing row of {row[2]}")
            problems += _missing_blobs(conn, open_blob_store(blob_root))
    except sa.exc.DatabaseError as error:
        problems.append(f"database cannot be read: {error.orig}")
    finally:
        engine.dispose()
    return problems


def _missing_blobs(conn: sa.Connection, blobs: BlobStore) -> list[str]:
    problems = []
    for name, sha256 in conn.execute(sa.select(t.artifacts.c.name, t.artifacts.c.sha256)):
        if not blobs.exists(sha256):
            problems.append(f"blobs: artifact {name!r} has no file {sha256}")
    images = sa.select(t.logs.c.name, t.logs.c.data).where(t.logs.c.type == "IMAGE")
    for name, data in conn.execute(images):
        sha256 = (json.loads(data) or {}).get("sha256") if data else None
        if sha256 and not blobs.exists(sha256):
            problems.append(f"blobs: image {name!r} has no file {sha256}")
    return problems[:MAX_REPORTED]
