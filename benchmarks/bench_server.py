"""Benchmark of the tracking server and the remote client; prints one table.

    python benchmarks/bench_server.py            # about 45 s on 2 cores
    python benchmarks/bench_server.py --quick    # smaller runs

Everything runs in one invocation, on this machine, against a real ``trackboard server`` process
(one uvicorn worker) over SQLite in a temporary directory:

* ingest: 4 client processes log at full speed through ``Client(token, host)`` and flush; the rate
  is all their points over the wall time from the first ``log()`` to the last acknowledged flush.
* caller-thread cost of ``log()``: the same loop against the embedded store and the server, in the
  same process, alternated; per-call times with ``perf_counter_ns``.
* the picsellia SDK's ``experiment.log`` (one HTTP request per call) against the same server.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
from results_table import ROWS, ns, print_table, rate, row, us

ROOT = Path(__file__).resolve().parents[1]


# -- a server process ------------------------------------------------------------------------


class Server:
    """``trackboard server`` (one worker) over a fresh SQLite file, with a token."""

    def __init__(self, root: Path) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        db = f"sqlite:///{root / 'server.db'}"
        self.token = subprocess.run([sys.executable, "-m", "trackboard.cli", "token", "create", "bench", "--db", db],
                                    capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        self.log = open(root / "server.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "trackboard.cli", "server", "--db", db, "--blobs", str(root / "blobs"),
             "--port", str(self.port), "--workers", "1"], stdout=self.log, stderr=subprocess.STDOUT)
        import requests

        for _ in range(300):
            try:
                if requests.get(f"{self.url}/api/health", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


# -- ingest from 4 processes -------------------------------------------------------------------

CLIENT = textwrap.dedent("""
    import json, sys, time
    from trackboard import Client, LogType
    token, host, directory, name, steps, metrics, start_at = sys.argv[1:8]
    steps, metrics = int(steps), int(metrics)
    experiment = Client(token, host=host, directory=directory).get_or_create_project("ingest").create_experiment(name)
    keys = [f"metric{i}" for i in range(metrics)]
    while time.time() < float(start_at):  # all clients start together
        time.sleep(0.001)
    start = time.time()
    log = experiment.log
    if metrics == 1:
        for step in range(steps):
            log("loss", step * 0.001, LogType.LINE)
    else:
        for step in range(steps):
            value = step * 0.001
            log("train", {key: value for key in keys}, LogType.LINE)
    logged = time.time()
    experiment.flush(timeout=600)
    print(json.dumps({"start": start, "logged": logged, "end": time.time(), "points": steps * metrics}))
""")


def bench_ingest(server: Server, root: Path, steps: int, metrics: int, clients: int = 4) -> tuple[float, float]:
    """(points/s acknowledged by the server, server CPU share) for ``clients`` processes."""
    start_at = time.time() + 3.0  # time for the processes to import and create their experiments
    cpu_before = server.cpu_seconds()
    processes = [
        subprocess.Popen([sys.executable, "-c", CLIENT, server.token, server.url, str(root / f"client-{metrics}-{i}"),
                          f"run-{metrics}-{i}", str(steps), str(metrics), str(start_at)],
                         stdout=subprocess.PIPE, text=True)
        for i in range(clients)
    ]
    results = []
    for process in processes:
        out, _ = process.communicate(timeout=900)
        if process.returncode:
            raise RuntimeError(f"a client failed ({process.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    begin, end = min(r["start"] for r in results), max(r["end"] for r in results)
    cpu = server.cpu_seconds() - cpu_before
    points = sum(r["points"] for r in results)
    return points / (end - begin), cpu / (end - begin)


# -- caller-thread cost of log() ----------------------------------------------------------------


def per_call(experiment, calls: int, form: str) -> np.ndarray:
    from trackboard import LogType

    line = LogType.LINE
    log = experiment.log
    values = np.random.default_rng(0).random(calls).tolist()
    samples = np.empty(calls, dtype=np.int64)
    if form == "scalar":
        for i in range(calls):
            t = ns()
            log("loss", values[i], line)
            samples[i] = ns() - t
    else:
        for i in range(calls):
            value = values[i]
            t = ns()
            log("train", {"loss": value, "acc": value, "lr": value, "grad_norm": value}, line)
            samples[i] = ns() - t
    return samples


def bench_log_cost(server: Server, root: Path, calls: int, repeats: int) -> None:
    from trackboard import Client
    from trackboard.backend import release
    from trackboard.remote import release as release_remote

    for form, label in (("scalar", "log('loss', x, LINE)"), ("dict", "log('train', {4 metrics}, LINE)")):
        means = {"embedded": [], "remote": []}
        p99 = {"embedded": [], "remote": []}
        for repeat in range(repeats):
            for where in ("embedded", "remote"):  # alternated, so both see the same machine state
                directory = root / f"cost-{where}-{form}-{repeat}"
                if where == "embedded":
                    client = Client(directory=directory, mode="online")
                else:
                    client = Client(server.token, host=server.url, directory=directory, mode="online")
                experiment = client.get_or_create_project("cost").create_experiment(f"{form}-{where}-{repeat}")
                samples = per_call(experiment, calls, form)
                experiment.flush(timeout=600)
                means[where].append(samples.mean())
                p99[where].append(np.percentile(samples, 99))
                if where == "embedded":
                    release(directory)
                else:
                    release_remote(client._backend)
        embedded, remote = statistics.median(means["embedded"]), statistics.median(means["remote"])
        ratio = remote / embedded
        row(f"caller-thread {label}, mean", us(remote), us(embedded) + " embedded", f"{ratio:.2f}x", ratio <= 1.5)
        row(f"caller-thread {label}, p99", us(statistics.median(p99["remote"])),
            us(statistics.median(p99["embedded"])) + " embedded",
            f"{statistics.median(p99['remote']) / statistics.median(p99['embedded']):.2f}x")


# -- the picsellia SDK ----------------------------------------------------------------------------


def bench_picsellia(server: Server, calls: int, remote_mean_ns: float | None) -> None:
    import logging

    try:
        import picsellia
        from picsellia.types.enums import LogType
    except ImportError:
        row("picsellia SDK experiment.log (1 request/call)", "not installed")
        return
    logging.getLogger("picsellia").setLevel(logging.WARNING)
    client = picsellia.Client(api_token=server.token, host=server.url)
    experiment = client.create_project("picsellia-bench").create_experiment("run")
    experiment.log("loss", 0.0, LogType.LINE)  # warm up the connection
    samples = np.empty(calls, dtype=np.int64)
    for i in range(calls):
        t = ns()
        experiment.log("loss", i * 0.001, LogType.LINE)
        samples[i] = ns() - t
    mean = samples.mean()
    ratio = f"{mean / remote_mean_ns:,.0f}x trackboard log()" if remote_mean_ns else ""
    row("picsellia SDK experiment.log (1 request/call), mean", f"{mean / 1e6:.2f} ms", "", ratio)
    row("picsellia SDK ingest, 1 process", rate(1e9 / mean))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    args = parser.parse_args()
    steps = 50_000 if args.quick else 200_000
    calls, repeats = (50_000, 1) if args.quick else (200_000, 5)

    import platform

    import trackboard

    print(f"trackboard {trackboard.__version__}; Python {platform.python_version()}; {os.cpu_count()} CPUs; "
          "server: 1 uvicorn worker, SQLite", flush=True)
    with tempfile.TemporaryDirectory(prefix="tb-bench-server-") as tmp:
        root = Path(tmp)
        server = Server(root)
        try:
            t = time.perf_counter()
            for metrics, label in ((10, "dicts of 10 metrics"), (1, "one number per call")):
                points_per_s, cpu = bench_ingest(server, root, steps if metrics == 10 else steps * 2, metrics)
                row(f"ingest, 4 client processes -> 1 server process ({label})", rate(points_per_s),
                    "target 200,000 pts/s", f"server CPU {cpu:.0%}", points_per_s >= 200_000)
            print(f"  [ingest: {time.perf_counter() - t:.1f} s]", file=sys.stderr, flush=True)
            t = time.perf_counter()
            bench_log_cost(server, root, calls, repeats)
            print(f"  [log() cost: {time.perf_counter() - t:.1f} s]", file=sys.stderr, flush=True)
            remote_mean = next((float(r[1].split()[0]) * 1e3 for r in ROWS
                                if r[0].startswith("caller-thread log('loss'") and r[0].endswith("mean")), None)
            t = time.perf_counter()
            bench_picsellia(server, 300 if args.quick else 1000, remote_mean)
            print(f"  [picsellia: {time.perf_counter() - t:.1f} s]", file=sys.stderr, flush=True)
        finally:
            server.stop()
    print_table()
    failed = [r[0] for r in ROWS if r[4] == "NO"]
    print(f"{len(failed)} target(s) missed{': ' + '; '.join(failed) if failed else ''}.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
