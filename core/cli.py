"""The ``trackboard`` command: ls, export, ui, server, token, import, sync.

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
    server.add_argument("--blobs", required=True, help="directory for images and artifacts")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=8080)
    server.add_argument("--workers", type=int, default=1)
    server.add_argument("--access-log", action="store_true", help="print one line per request")
    server.set_defaults(handler=_server)

    token = commands.add_parser("token", help="manage the server's API tokens")
    token_commands = token.add_subparsers(title="token commands", required=True)
    for name, help_text in (("create", "create a token and print it"), ("list", "list tokens"), ("revoke", "revoke a token")):
        sub = token_commands.add_parser(name, help=help_text)
        if name != "list":
            sub.add_argument("name")
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

        header, rows = run_table(project, args.filter, args.sort, args.columns, args.limit)
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
               access_log=args.access_log)


def _token(args: argparse.Namespace) -> None:
    from .server import auth
    from .store.sql import Store

    store = Store(args.db, args.blobs or "./blobs")
    try:
        if args.action == "create":
            print(f"token for {args.name!r} (shown once; store it safely):", file=sys.stderr)
            print(auth.create_token(store, args.name))
        elif args.action == "list":
            for row in auth.list_tokens(store):
                print(f"{row['name']}\t{'revoked' if row['revoked_at'] else 'active'}")
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


def _sync(args: argparse.Namespace) -> int:
    from .remote import sync

    return sync(host=args.host, api_token=args.api_token, directory=args.directory)


if __name__ == "__main__":
    sys.exit(main())
