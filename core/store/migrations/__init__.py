"""Schema versions of the store, under Alembic.

Revision ``0001`` is the schema of trackboard 0.1.0, which had no version table: a database with
trackboard's tables and no ``alembic_version`` is recognised as 0001 and upgraded from there.
An empty database is created at the head revision directly (``create_all`` + stamp, as Alembic
recommends); the tests check that the migrations reach exactly ``schema.metadata``.

A schema change = an edit of ``schema.py`` plus a new file in ``versions/``:
``python -m trackboard.store.migrations revision --autogenerate -m "what changed"``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import sqlalchemy as sa

from ...errors import SchemaVersionError
from .. import schema
from ..engine import read_transaction, write_transaction

BASELINE = "0001"  # trackboard 0.1.0's schema
UNVERSIONED = "0.1.0"  # what current_revision calls a store of 0.1.0, which had no version table
SCRIPT_LOCATION = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps
_SCHEMA_LOCK = 0x7472_6B62  # a PostgreSQL advisory lock: one process creates or upgrades at a time

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only to create or upgrade a database, not to open one at head (importing it
# costs ~0.2 s of every run's start): the revision check below reads the version table and the
# versions' files directly; tests/test_migrations.py checks both against Alembic's own answers.
_REVISION = re.compile(r"""^(down_revision|revision)\s*=\s*['"]?([^'"\s]+)['"]?\s*$""", re.M)


def alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Config:
    """Alembic's configuration for trackboard's migrations, on ``connection`` or ``url``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head() -> str:
    """The revision this trackboard's code expects: the one no other revision revises."""
    revisions, revised = set(), set()
    for path in (SCRIPT_LOCATION / "versions").glob("v*.py"):
        fields = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        revisions.add(fields["revision"])
        revised.add(fields.get("down_revision", "None"))
    heads = revisions - revised
    if len(heads) != 1:  # a branched history: let Alembic say what is wrong
        return _scripts().get_current_head()
    return heads.pop()


def _scripts():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def current_revision(connection: sa.Connection) -> str | None:
    """The database's revision: None when it is empty, "0.1.0" for a store without a version table."""
    inspector = sa.inspect(connection)
    if inspector.has_table(VERSION_TABLE):
        revisions = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        if len(revisions) > 1:  # several heads: Alembic's own check raises the error it would give
            from alembic.runtime.migration import MigrationContext

            return MigrationContext.configure(connection).get_current_revision()
        if revisions:
            return revisions[0]
    if inspector.has_table(schema.projects.name):
        return UNVERSIONED
    return None


def ensure_schema(
    engine: sa.Engine, *, upgrade: bool, before_upgrade: Callable[[str], None] | None = None,
) -> None:
    """Create an empty database at head; upgrade an old one when ``upgrade`` (else refuse).

    ``before_upgrade(revision)`` runs before an upgrade starts (the embedded store backs up its file).
    """
    with read_transaction(engine) as conn:
        revision = current_revision(conn)
    target = head()
    if revision == target:
        return
    _check_known(revision, target, engine)
    if revision is not None:
        if not upgrade:
            raise SchemaVersionError(
                f"the database {_where(engine)} has schema revision {revision}, this trackboard needs {target}: "
                f"run `trackboard db upgrade --db {_where(engine)}` (back it up first)"
            )
        if before_upgrade is not None:
            before_upgrade(revision)
    with write_transaction(engine) as conn:  # SQLite: the write lock; PostgreSQL: an advisory lock
        if engine.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
        revision = current_revision(conn)  # another process may have got here first
        if revision is None:
            schema.metadata.create_all(conn)
            _stamp(conn, target)
        elif revision != target:
            from alembic import command

            config = alembic_config(conn)
            if revision == UNVERSIONED:
                command.stamp(config, BASELINE)  # a 0.1.0 store: give it its version table
            command.upgrade(config, "head")


def _stamp(connection: sa.Connection, revision: str) -> None:
    """``alembic stamp`` of a database just created: the version table as Alembic makes it."""
    table = sa.Table(
        VERSION_TABLE, sa.MetaData(), sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
    )
    table.create(connection)
    connection.execute(table.insert().values(version_num=revision))


def upgrade(engine: sa.Engine, before_upgrade: Callable[[str], None] | None = None) -> tuple[str | None, str]:
    """Bring the database to head (``trackboard db upgrade``); returns (revision before, after)."""
    with read_transaction(engine) as conn:
        before = current_revision(conn)
    ensure_schema(engine, upgrade=True, before_upgrade=before_upgrade)
    return before, head()


def _check_known(revision: str | None, target: str, engine: sa.Engine) -> None:
    if revision in (None, UNVERSIONED):
        return
    try:
        _scripts().get_revision(revision)
    except Exception:
        raise SchemaVersionError(
            f"the database {_where(engine)} has schema revision {revision}, newer than this trackboard's "
            f"{target}: upgrade trackboard"
        ) from None


def _where(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
