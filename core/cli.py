"""The ``trackboard`` command: ls, export, ui, server, token, db, gc, sync."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from typing import Sequence, TextIO

from .client import Client
from .errors import TrackboardError
from .jsonable import json_safe
from .logtype import LogType


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args) or 0
    except TrackboardError as error:
        print(f"trackboard: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `trackboard export ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trackboard", description="Experiment tracking for training loops.")
    commands = parser.add_subparsers(title="commands")

    ls = commands.add_parser("ls", help="list projects, a project's experiments, or an experiment's logs")
    ls.add_argument("project", nargs="?")
    ls.add_argument("experiment", nargs="?")
    _store_options(ls)
    ls.set_defaults(handler=_ls)

    export = commands.add_parser("export", help="write an experiment's logs as JSON or CSV")
    export.add_argument("experiment_id")
    export.add_argument("--format", choices=("json", "csv"), default="json")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    _store_options(export)
    export.set_defaults(handler=_export)

    ui = commands.add_parser("ui", help="open the dashboard on the embedded store (127.0.0.1, no token)")
    ui.add_argument("--dir", dest="directory", default=None, help="store directory (default: TRACKBOARD_DIR or ./.trackboard)")
    ui.add_argument("--port", type=int, default=8080)
    ui.set_defaults(handler=_ui)

    server = commands.add_parser("server", help="run the tracking server (REST API + dashboard)")
    server.add_argument("--db", required=True, help="SQLAlchemy URL, e.g. sqlite:////srv/trackboard.db")
    server.add_argument("--blobs", required=True, help="directory for images and artifacts, or s3://bucket/prefix")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=8080)
    server.add_argument("--workers", type=int, default=1)
    server.add_argument("--gc-interval", type=float, default=3600.0, metavar="SECONDS",
                        help="delete unreferenced blobs this often (default 3600; 0: never)")
    server.add_argument("--gc-grace", type=float, default=3600.0, metavar="SECONDS",
                        help="keep unreferenced blobs younger than this (default 3600)")
    server.set_defaults(handler=_server)

    gc = commands.add_parser("gc", help="delete the images and artifacts nothing refers to any more")
    _store_options(gc)
    gc.add_argument("--db", default=None, help="a server's SQLAlchemy URL (instead of --dir)")
    gc.add_argument("--blobs", default=None, help="that server's blob directory or s3://bucket/prefix")
    gc.add_argument("--grace", type=float, default=3600.0, metavar="SECONDS",
                    help="keep blobs younger than this, which a log being written may refer to (default 3600)")
    gc.set_defaults(handler=_gc)

    token = commands.add_parser("token", help="manage the server's API tokens")
    token_commands = token.add_subparsers(title="token commands", required=True)
    for name, help_text in (("create", "create a token and print it"), ("list", "list tokens"), ("revoke", "revoke a token")):
        sub = token_commands.add_parser(name, help=help_text)
        if name != "list":
            sub.add_argument("name")
        sub.add_argument("--db", required=True, help="the server's SQLAlchemy URL")
        sub.add_argument("--blobs", default=None, help="the server's blob directory (unused by tokens)")
        sub.set_defaults(handler=_token, action=name)

    db = commands.add_parser("db", help="the database's schema version (Alembic migrations)")
    db_commands = db.add_subparsers(title="db commands", required=True)
    for name, help_text in (("upgrade", "upgrade the schema to this trackboard's version (SQLite: after a backup copy)"),
                            ("current", "print the schema revision of the database and this trackboard's")):
        sub = db_commands.add_parser(name, help=help_text)
        sub.add_argument("--db", required=True, help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db")
        sub.set_defaults(handler=_db, action=name)

    sync = commands.add_parser("sync", help="send logs spooled while the server was unreachable (or offline)")
    _store_options(sync)
    sync.add_argument("--host", default=None)
    sync.add_argument("--api-token", default=None)
    sync.set_defaults(handler=_sync)
    return parser


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", dest="directory", default=None, help="store directory (default: TRACKBOARD_DIR or ./.trackboard)")


def _client(args: argparse.Namespace) -> Client:
    return Client(directory=args.directory)


def _ls(args: argparse.Namespace, out: TextIO = sys.stdout) -> None:
    client = _client(args)
    if args.project is None:
        for project in client.list_projects():
            print(f"{project.name}\t{project.id}", file=out)
        return
    project = client.get_project(args.project)
    if args.experiment is None:
        for experiment in project.list_experiments():
            print(f"{experiment.name}\t{experiment.id}\t{experiment._row['status']}", file=out)
        return
    experiment = project.get_experiment(args.experiment)
    for log in experiment.list_logs():
        print(f"{log.name}\t{log.type.value}", file=out)


def _export(args: argparse.Namespace) -> None:
    experiment = _client(args).get_experiment_by_id(args.experiment_id)
    out = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        if args.format == "json":
            _export_json(experiment, out)
        else:
            _export_csv(experiment, out)
    finally:
        if args.output:
            out.close()


def _export_json(experiment, out: TextIO) -> None:
    document = {
        "experiment": {"id": experiment.id, "name": experiment.name, "project": experiment.project.name,
                       "status": experiment.status, "description": experiment.description},
        "logs": [{"name": log.name, "type": log.type.value, "data": log.data} for log in experiment.list_logs()],
        "artifacts": [{"name": a.name, "filename": a.filename, "size": a.size, "sha256": a.sha256}
                      for a in experiment.list_artifacts()],
    }
    json.dump(json_safe(document), out, indent=2, allow_nan=False)
    out.write("\n")


def _export_csv(experiment, out: TextIO) -> None:
    """One row per LINE point; other logs as one row with their data as JSON in ``value``."""
    writer = csv.writer(out)
    writer.writerow(["log", "type", "series", "step", "value", "time", "epoch"])
    for log in experiment.list_logs():
        if log.type is LogType.LINE:
            data = log.data
            series = {"": data} if "values" in data else data
            for series_name, points in series.items():
                epochs = points.get("epochs") or [None] * len(points["values"])
                for step, value, when, epoch in zip(points["steps"], points["values"], points["times"], epochs):
                    writer.writerow([log.name, "LINE", series_name, step, value, when, "" if epoch is None else epoch])
        elif log.type is LogType.VALUE:
            writer.writerow([log.name, "VALUE", "", "", log.data, "", ""])
        else:
            writer.writerow([log.name, log.type.value, "", "", json.dumps(json_safe(log.data), allow_nan=False), "", ""])


def _ui(args: argparse.Namespace) -> None:
    from .config import resolve
    from .server.serve import run_ui

    run_ui(resolve(directory=args.directory).directory, port=args.port)


def _server(args: argparse.Namespace) -> None:
    from .server.serve import run_server

    run_server(args.db, args.blobs or "./blobs", host=args.host, port=args.port, workers=args.workers,
               gc_interval_s=args.gc_interval, gc_grace_s=args.gc_grace)


def _gc(args: argparse.Namespace) -> None:
    from .config import resolve
    from .store.sql import Store
    from .store.storage import collect_garbage

    if args.db is not None:
        if args.blobs is None:
            raise TrackboardError("trackboard gc --db needs --blobs (the server's blob directory or s3:// URL)")
        store = Store(args.db, args.blobs)
    else:
        store = Store.at_directory(resolve(directory=args.directory).directory)
    try:
        result = collect_garbage(store, grace_s=args.grace)
    finally:
        store.close()
    print(f"deleted {result.deleted} unreferenced blobs ({result.freed_bytes} bytes); kept {result.kept}")


def _token(args: argparse.Namespace) -> None:
    from .server import auth
    from .store.sql import Store

    store = Store(args.db, args.blobs or "./blobs")
    if args.action == "create":
        print(f"token for {args.name!r} (shown once; store it safely):", file=sys.stderr)
        print(auth.create_token(store, args.name))
    elif args.action == "list":
        for row in auth.list_tokens(store):
            print(f"{row['name']}\t{'revoked' if row['revoked_at'] else 'active'}")
    else:
        auth.revoke_token(store, args.name)
        print(f"revoked {args.name!r}")


def _db(args: argparse.Namespace) -> None:
    from .store import migrations
    from .store.engine import backup_before_upgrade, create_engine, read_transaction

    engine = create_engine(args.db)
    try:
        if args.action == "current":
            with read_transaction(engine) as conn:
                revision = migrations.current_revision(conn)
            print(f"database: {revision or 'empty'}\ntrackboard: {migrations.head()}")
            return
        def backup(revision: str) -> None:
            if (copy := backup_before_upgrade(engine, revision)) is not None:
                print(f"backed up {args.db} to {copy}", file=sys.stderr)

        before, after = migrations.upgrade(engine, before_upgrade=backup)
        print(f"schema at {after}" + ("" if before == after else f" (was {before or 'empty'})"))
    finally:
        engine.dispose()


def _sync(args: argparse.Namespace) -> int:
    from .remote import sync

    return sync(host=args.host, api_token=args.api_token, directory=args.directory)


if __name__ == "__main__":
    sys.exit(main())
