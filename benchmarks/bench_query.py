"""Run query benchmark: 10,000 runs filtered and sorted in the store, on SQLite and PostgreSQL.

    python benchmarks/bench_query.py               # SQLite, and PostgreSQL when its binaries are installed
    python benchmarks/bench_query.py --runs 2000   # a smaller project

Builds one project of N runs (parameters lr/batch/opt.name/seed, VALUE accuracy, a 20-point LINE
loss, tags on a tenth), all written through ``Store.apply`` so the derived rows are the write
path's own. Then measures ``store.search_experiments`` (median of 7 after a warm-up) for four
queries against two baselines measured in the same run:

* "list all": ``list_experiments`` of the whole project, the floor cost of reading N rows (a query
  that returns thousands of runs cannot beat it; "first 100" is what a page or ``ls --limit`` reads);
* "in Python": what a client without store-side queries does: read every run's parameters and
  values (``experiment_summaries``) and filter and sort them in Python.

It also times the write path (1,000 runs) with and without the derived-row maintenance (``store/derived.py``)
replaced by no-ops, to show what keeping them costs. Target: every query <= 100 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_table import ms, ns, print_table, row  # noqa: E402

from trackboard.logtype import LogType  # noqa: E402
from trackboard.normalise import normalise  # noqa: E402
from trackboard.records import Record  # noqa: E402
from trackboard.store import derived  # noqa: E402
from trackboard.store import schema as t  # noqa: E402
from trackboard.store.engine import write_transaction  # noqa: E402
from trackboard.store.sql import Store  # noqa: E402

TARGET_MS = 100
QUERIES = {
    "issue example 1": ("params.lr < 0.01 and (values.accuracy >= 0.9 or status = 'FAILED')", ["values.accuracy DESC"]),
    "issue example 2": ("min.loss < 0.35 and tags contains 'baseline' and name like 'run-1%'", ["min.loss"]),
    "sort all by a parameter": (None, ["params.lr DESC"]),
    "in + last, by created": ("params.opt.name in ('adam', 'sgd') and last.loss > 0.5", ["created_at"]),
}


def build(store: Store, runs: int, batch: int = 1000) -> tuple[str, float]:
    """A project of ``runs`` runs; returns its id and the seconds spent in ``apply``."""
    rng = random.Random(0)
    project = store.create_project(f"bench-{uuid.uuid4().hex[:6]}")["id"]
    now = time.time()
    rows = [{"id": str(uuid.uuid4()), "project_id": project, "name": f"run-{i}", "description": None,
             "status": rng.choice(["SUCCESS"] * 8 + ["FAILED", "RUNNING"]), "created_at": now + i * 1e-3,
             "updated_at": now + i * 1e-3 + 60, "finished_at": now + i * 1e-3 + 60} for i in range(runs)]
    with write_transaction(store.engine) as conn:
        conn.execute(t.experiments.insert(), rows)
    applying = 0.0
    for start in range(0, runs, batch):
        records = []
        for row_ in rows[start:start + batch]:
            parameters = {"lr": 10 ** rng.uniform(-5, -1), "batch": rng.choice([16, 32, 64]),
                          "opt": {"name": rng.choice(["adam", "sgd", "rmsprop"])}, "seed": rng.randrange(5)}
            loss = [rng.uniform(0.1, 3.0) for _ in range(20)]
            records += [
                Record(row_["id"], "parameters", LogType.TABLE, parameters, False, now),
                Record(row_["id"], "accuracy", LogType.VALUE, rng.uniform(0.5, 1.0), False, now),
                Record(row_["id"], "loss", LogType.LINE,
                       normalise("loss", LogType.LINE, {"steps": list(range(20)), "values": loss}), False, now),
            ]
        began = time.perf_counter()
        store.apply(records)
        applying += time.perf_counter() - began
    tagged = [{"experiment_id": row_["id"], "tag": "baseline"} for row_ in rows[::10]]
    with write_transaction(store.engine) as conn:
        conn.execute(t.tags.insert(), tagged)
    return project, applying


def median_ns(call, repeat: int = 7, clock=ns) -> float:
    call()  # warm-up: caches, statement compilation
    times = []
    for _ in range(repeat):
        began = clock()
        call()
        times.append(clock() - began)
    return statistics.median(times)


def in_python(store: Store, project: str) -> list[dict]:
    """Example 1 the way a client without store-side queries would do it."""
    rows = store.list_experiments(project)
    summaries = store.experiment_summaries([r["id"] for r in rows])
    kept = []
    for r in rows:
        summary = summaries[r["id"]]
        lr, accuracy = summary["params"].get("lr"), summary["values"].get("accuracy")
        if lr is not None and lr < 0.01 and ((accuracy is not None and accuracy >= 0.9) or r["status"] == "FAILED"):
            kept.append((accuracy, r))
    kept.sort(key=lambda pair: -(pair[0] if pair[0] is not None else float("-inf")))
    return [r for _, r in kept]


def measure(label: str, store: Store, runs: int) -> None:
    project, _ = build(store, runs)
    listing = median_ns(lambda: store.list_experiments(project))
    python = median_ns(lambda: in_python(store, project), repeat=3)
    row(f"{label}: baseline list all {runs:,} runs", ms(listing))
    row(f"{label}: baseline example 1 in Python", ms(python))
    expected = [r["id"] for r in in_python(store, project)]
    found = [r["id"] for r in store.search_experiments(project, *QUERIES["issue example 1"])]
    assert found == expected, "the store and the Python baseline disagree"
    for name, (query, order_by) in QUERIES.items():
        matched = len(store.search_experiments(project, query, order_by))
        took = median_ns(lambda: store.search_experiments(project, query, order_by))
        row(f"{label}: {name} ({matched:,} runs)", ms(took), ms(listing), f"<= {TARGET_MS} ms", took <= TARGET_MS * 1e6)
        page = median_ns(lambda: store.search_experiments(project, query, order_by, 100))
        row(f"{label}: {name}, first 100", ms(page), ms(listing), f"<= {TARGET_MS} ms", page <= TARGET_MS * 1e6)
    if store.engine.dialect.name == "sqlite":
        # SQLite runs in this process: its CPU time is what a query costs on an idle core, whatever
        # else the machine is doing (the wall-clock rows above include waiting for a CPU).
        cpu = time.process_time_ns
        cpu_listing = median_ns(lambda: store.list_experiments(project), clock=cpu)
        row(f"{label} CPU time: baseline list all", ms(cpu_listing))
        for name, (query, order_by) in QUERIES.items():
            took = median_ns(lambda: store.search_experiments(project, query, order_by), clock=cpu)
            row(f"{label} CPU time: {name}", ms(took), ms(cpu_listing), f"<= {TARGET_MS} ms", took <= TARGET_MS * 1e6)
    # What keeping the derived rows costs the write path: the same build with them switched off,
    # alternated so that load from other processes falls on both alike.
    small = min(runs, 1000)
    with_rows, without = [], []
    for _ in range(2):
        with_rows.append(build(store, small)[1])
        without.append(_without_derived_rows(lambda: build(store, small)[1]))
    ours, bare = min(with_rows), min(without)
    row(f"{label}: apply {small:,} runs' logs", f"{ours:.2f} s", f"{bare:.2f} s without derived rows",
        f"{ours / bare:.2f}x")


def _without_derived_rows(call):
    saved = derived.value_columns, derived.ParameterRows.write, derived.extremes
    derived.value_columns = lambda log_type, data: {}
    derived.ParameterRows.write = lambda self, conn: None
    derived.extremes = lambda values, low, high: (low, high)
    try:
        return call()
    finally:
        derived.value_columns, derived.ParameterRows.write, derived.extremes = saved


@contextlib.contextmanager
def postgres():
    """A throwaway PostgreSQL cluster (as in tests/test_postgres.py), or None without the binaries."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    try:
        import psycopg  # noqa: F401
    except ImportError:
        bins = []
    if not bins:
        yield None
        return
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = tempfile.mkdtemp(prefix="bench-pg-")
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    subprocess.run([*run_as, f"{bins[-1]}/initdb", "-D", data, "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True)
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([*run_as, f"{bins[-1]}/postgres", "-D", data, "-p", str(port), "-h", "127.0.0.1",
                               "-k", data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if subprocess.run([f"{bins[-1]}/pg_isready", "-h", "127.0.0.1", "-p", str(port)],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(data, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        store = Store(f"sqlite:///{Path(scratch) / 'bench.db'}", Path(scratch) / "blobs")
        measure("SQLite", store, args.runs)
        store.close()
        if not args.no_postgres:
            with postgres() as url:
                if url is None:
                    row("PostgreSQL", "skipped: no server binaries or psycopg")
                else:
                    store = Store(url, Path(scratch) / "pg-blobs")
                    measure("PostgreSQL", store, args.runs)
                    store.close()
    print_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
