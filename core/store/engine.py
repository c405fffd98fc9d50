"""The one place that knows SQL dialects: engine settings and write transactions.

SQLite gets WAL (readers never block the writer), a long busy timeout (several processes may
write into one store) and ``BEGIN IMMEDIATE`` for writes, so two writers queue on the lock instead
of failing with "database is locked" when a read transaction tries to become a write.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event

BUSY_TIMEOUT_S = 60.0


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``)."""
    if url.startswith("sqlite"):
        _create_parent_folder(url)
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=16)


def _create_parent_folder(url: str) -> None:
    # SQLite creates the file but not its folder ("unable to open database file" otherwise).
    database = sa.engine.make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own handling defers it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes, fast commits
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A page cache of up to 32 MiB a connection (SQLite's default is 2 MiB, allocated as pages are
    # read): a series of a million points is ~9 MiB of chunk pages, read again at every chart refresh.
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.close()


def _begin_sqlite(connection: sa.Connection) -> None:
    mode = "IMMEDIATE" if connection.get_execution_options().get("for_write") else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that takes the write lock up front (SQLite) and commits on success."""
    with engine.connect().execution_options(for_write=True) as connection:
        with connection.begin():
            yield connection


@contextmanager
def read_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A consistent snapshot for reads: every statement sees the same committed data, whatever
    commits meanwhile. SQLite's deferred transaction in WAL mode is one; on PostgreSQL it takes
    REPEATABLE READ (READ ONLY, which never fails to serialize): its default, READ COMMITTED, gives
    each statement its own snapshot, and a chart read of a series' chunks and bounds in two
    statements would then see its last chunk rewritten in between."""
    with engine.connect() as connection:
        if not is_sqlite(engine):
            connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with connection.begin():
            yield connection


def is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"


def backup_before_upgrade(engine: sa.Engine, revision: str) -> Path | None:
    """A consistent copy of an SQLite database file (WAL included) beside it, named after its
    schema revision (``trackboard.db.backup-0001``); None for other databases (use pg_dump)."""
    database = engine.url.database
    if not is_sqlite(engine) or not database or database == ":memory:":
        return None
    target = Path(f"{database}.backup-{revision}")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src, dst = sqlite3.connect(database), sqlite3.connect(partial)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    os.replace(partial, target)
    return target
