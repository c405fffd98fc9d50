"""Alembic's entry point: runs trackboard's migrations on the connection it is given.

trackboard passes its own connection (``config.attributes["connection"]``, inside the caller's
transaction); the ``alembic`` command line (``python -m trackboard.store.migrations``) gives a URL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from trackboard.store.schema import metadata


def run(config) -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        _migrate(connection)


def _migrate(connection: sa.Connection) -> None:
    # render_as_batch: SQLite alters tables by copying them, which batch mode does for us.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      transactional_ddl=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


config = getattr(context, "config", None)  # None when imported outside Alembic (e.g. by a module walk)
if config is not None:
    run(config)
