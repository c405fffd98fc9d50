"""``python -m trackboard.store.migrations ARGS``: Alembic's command line on trackboard's migrations.

For a schema change: edit ``schema.py``, then
``python -m trackboard.store.migrations revision --autogenerate -m "what changed"``
compares ``schema.metadata`` with a scratch SQLite database brought to the current head by the
existing migrations and writes the difference as a new revision in ``versions/`` (read it and
fix it up: backfills, server defaults). ``TRACKBOARD_MIGRATIONS_DB=URL`` compares another database.
"""

from __future__ import annotations

import os
import sys
import tempfile

from alembic import command
from alembic.config import CommandLine

from . import alembic_config


def main(argv: list[str] | None = None) -> None:
    cli = CommandLine(prog="python -m trackboard.store.migrations")
    options = cli.parser.parse_args(argv)
    if not hasattr(options, "cmd"):
        cli.parser.print_help()
        return
    url = os.environ.get("TRACKBOARD_MIGRATIONS_DB")
    with tempfile.TemporaryDirectory() as scratch:
        if url is None:
            url = f"sqlite:///{scratch}/head.db"
            command.upgrade(alembic_config(url=url), "head")
        config = alembic_config(url=url)
        config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
        cli.run_cmd(config, options)


if __name__ == "__main__":
    main(sys.argv[1:])
