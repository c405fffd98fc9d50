"""The ``trackboard`` command: ls, export, ui, server, gc, token, doctor, import, db, sync.

Handlers raise; ``main`` turns every error a user can cause into one line (``foreseen_error``), so a
new subcommand needs no error handling of its own.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Sequence, TextIO

import sqlalchemy as sa

from . import __version__
from .backend import close_all
from .client import Client
from .config import resolve
from .errors import NotFoundError, TrackboardError
from .experiment import Experiment
from .jsonable import json_safe
from .logtype import LogType
from .store.sql import DATABASE_FILE


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args) or 0
    except KeyboardInterrupt:  # Ctrl-C: stop quietly, as a shell tool does
        return 130
    except BrokenPipeError:  # `trackboard export ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:
        message = foreseen_error(error, args)
        if message is None:
            raise  # a bug: the traceback is what a bug report needs
        print(f"trackboard: {message}", file=sys.stderr)
        return 1
    finally:
        close_all()  # checkpoint and close every store this command opened (no -wal/-shm left)


def foreseen_error(error: BaseException, args: argparse.Namespace) -> str | None:
    """The one-line message for an error the command line can foresee, or None for a bug.

    Every command gets this for free: a handler raises, ``main`` prints the line and exits 1.
    """
    where = getattr(args, "db", None) or getattr(args, "store", None) or "the store"
    if isinstance(error, TrackboardError):
        return str(error)
    if isinstance(error, sa.exc.DBAPIError):  # unreadable, corrupt, locked, refused connection...
        return f"cannot use the database {where}: {str(error.orig).strip().splitlines()[0]}"
    if isinstance(error, sa.exc.NoSuchModuleError) and "postgres" in str(error):
        return f"{error}: install the driver with pip install 'trackboard[postgres]'"
    if isinstance(error, sa.exc.ArgumentError):
        return f"{error} (expected e.g. sqlite:////srv/trackboard/db.sqlite or postgresql+psycopg://user@host/db)"
    if isinstance(error, ModuleNotFoundError) and error.name:
        extra = EXTRA_OF_MODULE.get(error.name.split(".")[0])
        if extra:
            return f"this command needs the {extra} extra ({error.name} is missing): pip install 'trackboard[{extra}]'"
        return None
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return None


# What `pip install trackboard` leaves out, by the extra that brings it.
EXTRA_OF_MODULE = {"fastapi": "server", "uvicorn": "server", "starlette": "server", "plotly": "server",
                   "multipart": "server", "python_multipart": "server", "PIL": "images",
                   "psycopg": "postgres", "boto3": "s3"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trackboard", description="Experiment tracking for training loops.")
    parser.add_argument("--version", action="version", version=f"trackboard {__version__}")
    commands = parser.add_subparsers(title="commands")

    ls = commands.add_parser("ls", help="list projects, a project's experiments, or an experiment's logs")
    ls.add_argument("project", nargs="?")
    ls.add_argument("experiment", nargs="?")
    ls.add_argument("--filter", "-f", default=None, help="a run query, e.g. \"params.lr < 0.01 and values.accuracy >= 0.9\"")
    ls.add_argument("--sort", "-s", action="append", default=None,
                    help="sort key, e.g. \"values.accuracy DESC\" (repeat or separate with commas)")
    ls.add_argument("--columns", "-c", default=None, help="comma-separated fields, e.g. name,params.lr,values.accuracy,id")
    ls.add_argument("--limit", type=int, default=None, help="show at most this many experiments")
    ls.add_argument("--csv", action="store_true", help="write CSV instead of a table")
    ls.add_argument("--commit", action="store_true", help="add each experiment's git commit (-dirty: uncommitted changes)")
    _store_options(ls)
    ls.set_defaults(handler=_ls)

    export = commands.add_parser("export", help="write an experiment's logs as JSON or CSV")
    export.add_argument("experiment", metavar="EXPERIMENT", help="the experiment's id or name")
    export.add_argument("--project", default=None, help="the project of a named experiment (needed when several have it)")
    export.add_argument("--format", choices=("json", "csv"), default="json")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    _store_options(export)
    export.set_defaults(handler=_export)

    ui = commands.add_parser("ui", help="open the dashboard on the embedded store (127.0.0.1, no token)")
    _store_options(ui)
    ui.add_argument("--port", type=int, default=8080)
    ui.set_defaults(handler=_ui)

    server = commands.add_parser("server", help="run the tracking server (REST API + dashboard)")
    server.add_argument("--db", required=True, help="SQLAlchemy URL, e.g. sqlite:////srv/trackboard.db")
    server.add_argument("--blobs", required=True, help="directory for images and artifacts, or s3://bucket/prefix")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=8080)
    server.add_argument("--workers", type=int, default=1)
    server.add_argument("--access-log", action="store_true", help="print one line per request")
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
        if name == "create":
            sub.add_argument("--role", choices=("read", "write", "admin"), default="write",
                             help="read: only reads; write: also creates and logs (default); admin: also deletes")
            sub.add_argument("--project", dest="projects", action="append", default=None, metavar="NAME",
                             help="limit the token to this project (repeat for several; default: all projects)")
            sub.add_argument("--expires-in", default=None, metavar="DURATION", help="e.g. 30d, 12h (default: never)")
        sub.add_argument("--db", required=True, help="the server's SQLAlchemy URL")
        sub.add_argument("--blobs", default=None, help="the server's blob directory (unused by tokens)")
        sub.set_defaults(handler=_token, action=name)

    importer = commands.add_parser("import", help="import runs from TensorBoard or MLflow (idempotent)")
    sources = importer.add_subparsers(title="sources", required=True)
    tensorboard = sources.add_parser("tensorboard", help="every folder of event files under LOGDIR becomes an experiment")
    tensorboard.add_argument("logdir")
    tensorboard.add_argument("--project", default=None, help="project to import into (default: LOGDIR's folder name)")
    _store_options(tensorboard)
    tensorboard.set_defaults(handler=_import, source="tensorboard")
    mlflow = sources.add_parser("mlflow", help="every run of an MLflow tracking store becomes an experiment")
    mlflow.add_argument("tracking_uri", help="e.g. sqlite:///mlflow.db, ./mlruns, http://mlflow:5000")
    mlflow.add_argument("--experiment", default=None, help="only this MLflow experiment (default: all)")
    mlflow.add_argument("--project", default=None, help="project to import into (default: each MLflow experiment's name)")
    _store_options(mlflow)
    mlflow.set_defaults(handler=_import, source="mlflow")
    doctor = commands.add_parser("doctor", help="check a store's database and blobs for damage")
    _store_options(doctor)
    doctor.add_argument("--db", default=None, help="a server's SQLAlchemy URL instead of --dir")
    doctor.add_argument("--blobs", default=None, help="the server's blob directory (with --db)")
    doctor.set_defaults(handler=_doctor)
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
    parser.add_argument("--dir", dest="directory", default=None,
                        help="the store, or the folder holding .trackboard (default: TRACKBOARD_DIR or ./.trackboard)")


def existing_store(directory: str | None) -> Path:
    """The embedded store a read-only command reads: ``directory`` itself or its ``.trackboard``.

    Never creates one: a wrong folder is an error that says where it looked and how to point elsewhere.
    """
    given = Path(resolve(directory=directory).directory).expanduser().resolve()
    for candidate in (given, given / ".trackboard"):
        if (candidate / DATABASE_FILE).is_file():
            return candidate
    raise TrackboardError(f"no trackboard store at {given}: pass --dir with the folder that holds .trackboard "
                          "(or the store itself), or set TRACKBOARD_DIR")


def _client(args: argparse.Namespace) -> Client:
    """A client for a read-only command: the server of TRACKBOARD_HOST, or an existing embedded store."""
    if resolve().host:
        return Client(directory=args.directory)
    args.store = existing_store(args.directory)
    return Client(directory=args.store)


def _ls(args: argparse.Namespace, out: TextIO = sys.stdout) -> None:
    if (args.project is None or args.experiment is not None) and (
            args.filter or args.sort or args.columns or args.limit is not None or args.csv):
        raise TrackboardError("--filter, --sort, --columns, --limit and --csv list a project's experiments: "
                              "trackboard ls PROJECT --filter ...")
    client = _client(args)
    if args.project is None:
        for project in client.list_projects():
            print(f"{project.name}\t{project.id}", file=out)
        return
    project = client.get_project(args.project)
    if args.experiment is None:
        from .listing import run_table, write_csv, write_table

        header, rows = run_table(project, args.filter, args.sort, args.columns, args.limit, commit=args.commit)
        (write_csv if args.csv else write_table)(header, rows, out)
        return
    experiment = project.get_experiment(args.experiment)
    for log in experiment.list_logs():
        print(f"{log.name}\t{log.type.value}", file=out)


def _export(args: argparse.Namespace) -> None:
    experiment = find_experiment(_client(args), args.experiment, args.project)
    out = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        if args.format == "json":
            _export_json(experiment, out)
        else:
            _export_csv(experiment, out)
    finally:
        if args.output:
            out.close()


def find_experiment(client: Client, key: str, project: str | None = None) -> Experiment:
    """The experiment whose id or name is ``key`` (in ``project`` if given, else in the one project that has it)."""
    if project is not None:
        found = client.get_project(project)
        try:
            return found.get_experiment(key)
        except NotFoundError:
            if not _is_uuid(key):
                raise
            return found.get_experiment_by_id(key)
    if _is_uuid(key):
        try:
            return client.get_experiment_by_id(key)
        except NotFoundError:
            pass
    named = []
    for candidate in client.list_projects():
        try:
            named.append(candidate.get_experiment(key))
        except NotFoundError:
            continue
    if len(named) == 1:
        return named[0]
    if not named:
        raise NotFoundError(f"no experiment with id or name {key!r} (`trackboard ls PROJECT` lists them)")
    projects = ", ".join(repr(e.project.name) for e in named)
    raise NotFoundError(f"several projects have an experiment named {key!r} ({projects}): pass --project NAME")


def _is_uuid(key: str) -> bool:
    try:
        uuid.UUID(key)
        return True
    except ValueError:
        return False


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
    args.store = existing_store(args.directory)
    from .server.serve import run_ui

    run_ui(str(args.store), port=args.port)


def _server(args: argparse.Namespace) -> None:
    from .server.serve import run_server

    run_server(args.db, args.blobs or "./blobs", host=args.host, port=args.port, workers=args.workers,
               access_log=args.access_log, gc_interval_s=args.gc_interval, gc_grace_s=args.gc_grace)


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
    try:
        if args.action == "create":
            expires = None if args.expires_in is None else auth.parse_duration(args.expires_in)
            token = auth.create_token(store, args.name, args.role, args.projects, expires)
            print(f"token for {args.name!r} (shown once; store it safely):", file=sys.stderr)
            print(token)
        elif args.action == "list":
            print("name\trole\tprojects\texpires\tstate")
            for row in auth.list_tokens(store):
                projects = ",".join(row["projects"]) if row["projects"] else "*"
                expires = "never" if row["expires_at"] is None else _when(row["expires_at"])
                print(f"{row['name']}\t{row['role']}\t{projects}\t{expires}\t{auth.token_state(row)}")
        else:
            auth.revoke_token(store, args.name)
            print(f"revoked {args.name!r}")
    finally:
        store.close()


def _import(args: argparse.Namespace) -> None:
    from . import importers

    client, progress = Client(directory=args.directory), sys.stderr.isatty()  # a write: creates the store
    if args.source == "tensorboard":
        summary = importers.import_tensorboard(client, args.logdir, args.project, progress=progress)
    else:
        summary = importers.import_mlflow(client, args.tracking_uri, args.experiment, args.project, progress=progress)
    print(summary)


def _when(seconds: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _doctor(args: argparse.Namespace) -> int:
    from .store.doctor import check_store

    if args.db:
        db, blobs = args.db, args.blobs or "./blobs"
    else:
        root = existing_store(args.directory)
        db, blobs = f"sqlite:///{root / DATABASE_FILE}", str(root / "blobs")
    problems = check_store(db, blobs)
    for problem in problems:
        print(f"problem: {problem}")
    print("trackboard doctor: " + (f"{len(problems)} problem(s) found" if problems else "no problems found"))
    return 1 if problems else 0


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
