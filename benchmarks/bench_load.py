"""Load benchmark of a team server: writers and dashboard readers at once, SQLite and PostgreSQL.

    python benchmarks/bench_load.py                     # 8 clients + 5 readers for 30 s per database
    python benchmarks/bench_load.py --duration 10       # shorter, on a busy machine
    python benchmarks/bench_load.py --rate 0            # clients as fast as they can (peak ingest)

For each database, a real ``trackboard server --workers 4`` process (SQLite file, or a throwaway
PostgreSQL cluster started with Debian's binaries as the tests do) serves:

* 8 client processes, each logging to its own experiment through ``Client(token, host)`` for
  ``--duration`` seconds: per call one step of ``--series`` named LINE series (a training step's
  metrics), then ``flush()`` at the end. Together they log ``--rate`` points/s (default 250,000,
  past the target's 200,000), paced evenly as training loops are; ``--rate 0``: as fast as they can,
  which on a small machine takes the cores the readers are measured on;
* 5 reader processes polling the dashboard's data endpoints meanwhile, with no pause: the project
  table, then the experiment page and the downsampled series of the experiment it names next (in
  turn), each request timed.

The clock starts once every worker of the server has started (``wait_until_settled``).

Then every experiment is read back: points stored must equal points logged (0 lost) and each
series' steps must be 0..n-1 exactly once (0 duplicated). Points stored/s counts from the first
log() to the last acknowledged flush. Target: read p99 <= 150 ms while ingesting >= 200,000
points/s. Server CPU s: what the server's processes used while the clients and readers ran (reads
and writes); PostgreSQL CPU s: what the cluster's processes used meanwhile. The two databases run in
the same invocation, one after the other, and are each other's baseline; on a machine shared with
other work the absolute numbers are low: say so with them.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
from results_table import print_grid

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(TESTS)]  # the tests' PostgreSQL cluster and port helpers

TARGET_P99_MS, TARGET_RATE = 150.0, 200_000
ENDPOINTS = ("project table", "experiment page", "series")  # what each reader polls, in this order


def client_job(url: str, token: str, project: str, index: int, series: int, duration: float, steps_per_s: float,
               barrier, spool: str, nice: int, out) -> None:
    os.environ["TRACKBOARD_DIR"] = spool
    os.nice(nice)  # training machines are elsewhere in a real team; here they share the server's cores
    from trackboard import Client, LogType

    client = Client(token, host=url)
    experiment = client.get_project(project).create_experiment(f"client-{index}")
    names = [f"metric{i}" for i in range(series)]
    barrier.wait()  # every process imported and connected before the clock starts
    step, first = 0, time.time()
    stop_at = first + duration
    while time.time() < stop_at:
        for _ in range(100):
            experiment.log("train", {"steps": step, **{name: step * 0.5 for name in names}}, LogType.LINE)
            step += 1
        if steps_per_s:  # paced: step n is due at first + n / steps_per_s, as a training loop's steps are
            ahead = first + step / steps_per_s - time.time()
            if ahead > 0:
                time.sleep(min(ahead, max(stop_at - time.time(), 0)))
    experiment.close()  # flushes: returns once the server acknowledged every point
    out.put((experiment.id, step, first, time.time()))


def reader_job(url: str, token: str, project_id: str, duration: float, barrier, out) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    latencies, errors, i = {kind: [] for kind in ENDPOINTS}, 0, 0
    barrier.wait()
    stop_at = time.time() + duration
    while time.time() < stop_at:
        table = _timed(session, url, f"/ui/data/projects/{project_id}", latencies["project table"])
        errors += table.status_code != 200
        ids = [row["id"] for row in table.json()["experiments"]] if table.ok else []
        if ids:  # the project table's answer names the experiment to read this round
            target = ids[i % len(ids)]
            i += 1
            for kind, path in (("experiment page", f"/ui/data/experiments/{target}"),
                               ("series", f"/ui/data/experiments/{target}/series?name=train")):
                # 404: the series before its first point arrived
                errors += _timed(session, url, path, latencies[kind]).status_code not in (200, 404)
    out.put((latencies, errors))


def _timed(session: requests.Session, url: str, path: str, latencies: list[float]) -> requests.Response:
    started = time.perf_counter()
    answer = session.get(url + path, timeout=60)
    latencies.append(time.perf_counter() - started)
    return answer


def wait_until_settled(server: subprocess.Popen, workers: int, timeout: float = 120.0) -> None:
    """Until the server has its ``workers`` worker processes and they have finished starting (their
    CPU time stops growing): the clock starts on a server in its steady state, not while its last
    workers still import and build the app on the same cores (Linux: reads /proc)."""
    if not Path(f"/proc/{server.pid}").exists():
        return
    deadline, quiet_since, last = time.monotonic() + timeout, None, None
    while time.monotonic() < deadline:
        children = _children(server.pid)
        used = sum(_cpu_seconds(pid) for pid in [server.pid, *children])
        if len(children) >= workers and last is not None and used - last < 0.02:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 1.0:
                return
        else:
            quiet_since = None
        last = used
        time.sleep(0.25)
    raise RuntimeError(f"the server's {workers} workers did not settle within {timeout:.0f} s")


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def run_load(label: str, db: str, root: Path, args, database_pid: int | None = None) -> tuple:
    """One load run; ``database_pid``: the process whose tree is the database's (None: in the server)."""
    from live_process import free_port

    from trackboard import Client

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    token = subprocess.run([sys.executable, "-m", "trackboard.cli", "token", "create", "bench", "--db", db],
                           capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    log = open(root / "server.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "trackboard.cli", "server", "--db", db, "--blobs", str(root / "blobs"),
                               "--port", str(port), "--workers", str(args.workers)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{url}/api/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"the {label} server did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.1)
        wait_until_settled(server, args.workers)
        os.environ["TRACKBOARD_DIR"] = str(root / "setup")
        project = Client(token, host=url).get_or_create_project(f"load-{label}")
        ctx = mp.get_context("spawn")
        results, reads = ctx.Queue(), ctx.Queue()
        barrier = ctx.Barrier(args.clients + args.readers)
        steps_per_s = args.rate / args.clients / args.series
        clients = [ctx.Process(target=client_job, args=(url, token, project.name, i, args.series, args.duration, steps_per_s, barrier,
                                                         str(root / f"spool-{i}"), args.client_nice, results))
                   for i in range(args.clients)]
        readers = [ctx.Process(target=reader_job, args=(url, token, project.id, args.duration, barrier, reads))
                   for _ in range(args.readers)]
        cpu_before = _tree_cpu_seconds(server.pid), _tree_cpu_seconds(database_pid)
        for process in clients + readers:
            process.start()
        finished = [results.get(timeout=args.duration + 600) for _ in clients]
        read_results = [reads.get(timeout=args.duration + 600) for _ in readers]
        server_cpu = _tree_cpu_seconds(server.pid) - cpu_before[0]
        database_cpu = None if database_pid is None else _tree_cpu_seconds(database_pid) - cpu_before[1]
        for process in clients + readers:
            process.join(60)
        first, last = min(f[2] for f in finished), max(f[3] for f in finished)
        logged = sum(f[1] for f in finished) * args.series
        stored = lost = duplicated = 0
        for experiment_id, steps_logged, _, _ in finished:
            data = Client(token, host=url).get_experiment_by_id(experiment_id).get_log("train").data
            for name in (f"metric{i}" for i in range(args.series)):
                steps = data[name]["steps"] if name in data else []
                stored += len(steps)
                unique = len(set(steps))
                duplicated += len(steps) - unique
                lost += steps_logged - len(set(steps) & set(range(steps_logged)))
        by_kind = {kind: np.array([x for lat, _ in read_results for x in lat[kind]]) * 1000 for kind in ENDPOINTS}
        latencies = np.concatenate(list(by_kind.values()))
        errors = sum(e for _, e in read_results)
        return (label, logged, stored, stored / (last - first), lost, duplicated, len(latencies), errors,
                *_percentiles(latencies), server_cpu, database_cpu, {kind: (len(x), *_percentiles(x)) for kind, x in by_kind.items()})
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def _tree_cpu_seconds(pid: int | None) -> float:
    """CPU seconds used so far by a process and its descendants now alive (the server and its
    workers; the cluster's postmaster and its backends), 0 for None."""
    if pid is None:
        return 0.0
    return _cpu_seconds(pid) + sum(_tree_cpu_seconds(child) for child in _children(pid))


def _percentiles(latencies_ms: np.ndarray) -> tuple[float, float, float]:
    if not len(latencies_ms):
        return (float("nan"),) * 3
    return float(np.percentile(latencies_ms, 50)), float(np.percentile(latencies_ms, 99)), float(latencies_ms.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of logging (default 30)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--readers", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--client-nice", type=int, default=0,
                        help="nice value of the client processes (same for both databases; default 0)")
    parser.add_argument("--rate", type=float, default=250_000,
                        help="points/s the clients log together, paced evenly (default 250,000; 0: as fast as they can)")
    parser.add_argument("--series", type=int, default=10, help="LINE series logged per step (points per call)")
    parser.add_argument("--only", choices=("sqlite", "postgres"), action="append", help="one database (repeatable)")
    args = parser.parse_args()
    wanted = args.only or ["sqlite", "postgres"]
    rows = []
    for label in wanted:
        with tempfile.TemporaryDirectory(prefix=f"bench-load-{label}-") as scratch:
            root = Path(scratch)
            if label == "sqlite":
                rows.append(run_load(label, f"sqlite:///{root / 'server.db'}", root, args))
                continue
            from pg_cluster import BIN, PostgresCluster

            if not BIN:
                print("PostgreSQL binaries not installed: skipping postgres", file=sys.stderr)
                continue
            cluster = PostgresCluster()
            try:
                rows.append(run_load(label, cluster.new_database("load"), root, args, cluster.process.pid))
            finally:
                cluster.stop()
    pace = f"paced at {args.rate:,.0f} points/s" if args.rate else "as fast as they can"
    print(f"\n{args.clients} clients x {args.series} series for {args.duration:.0f} s ({pace}), {args.readers} readers, "
          f"--workers {args.workers}, clients at nice {args.client_nice}; cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    table = []
    for label, logged, stored, per_s, lost, dup, reads, errors, p50, p99, worst, server_cpu, database_cpu, _ in rows:
        ok = p99 <= TARGET_P99_MS and per_s >= TARGET_RATE
        table.append((label, f"{logged:,}", f"{stored:,}", f"{per_s:,.0f}", str(lost), str(dup), f"{reads:,}",
                      str(errors), f"{p50:.0f}", f"{p99:.0f}", f"{worst:.0f}", f"{server_cpu:.1f}",
                      "-" if database_cpu is None else f"{database_cpu:.1f}",
                      "yes" if ok else "NO"))
    print_grid(("database", "points logged", "stored", "stored/s", "lost", "duplicated", "reads", "read errors",
                "p50 ms", "p99 ms", "max ms", "server CPU s", "PostgreSQL CPU s", f"target (p99<={TARGET_P99_MS:.0f} ms, >={TARGET_RATE:,}/s)"), table)
    print("\nreads per endpoint (ms):")
    print_grid(("database", "endpoint", "reads", "p50 ms", "p99 ms", "max ms"),
               [(row[0], kind, f"{n:,}", f"{p50:.0f}", f"{p99:.0f}", f"{worst:.0f}")
                for row in rows for kind, (n, p50, p99, worst) in row[-1].items()])


if __name__ == "__main__":
    main()
