"""How long ``trackboard server --workers N`` takes to answer its first request; prints one table.

    python benchmarks/bench_startup.py              # --workers 4, 3 repeats
    python benchmarks/bench_startup.py --workers 8 --repeats 5

The baseline, measured in the same run, is uvicorn's own supervisor (``uvicorn.run(...,
workers=N)``), which starts all workers at once; trackboard starts them one after another. Each
measure is a fresh process on a fresh SQLite store, timed from the start of the process to the
first answer of ``/api/health``; the median is reported.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from results_table import print_table, row

UVICORN_ALL_AT_ONCE = """
import sys, uvicorn
from trackboard.store.sql import Store
db, blobs, port, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
Store(db, blobs).close()
import os; os.environ.update(TRACKBOARD_SERVER_DB=db, TRACKBOARD_SERVER_BLOBS=blobs)
uvicorn.run("trackboard.server.app:app_from_env", factory=True, host="127.0.0.1", port=port, workers=workers,
            log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_answer(command: list[str], port: int) -> float:
    """Seconds from starting ``command`` to the first answer on ``port``; the process is stopped after."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5).read()
                return time.perf_counter() - start
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"{command[:4]} exited with {process.returncode}") from None
                time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def measure(kind: str, workers: int) -> float:
    with tempfile.TemporaryDirectory(prefix="tb-startup-") as directory:
        db, blobs, port = f"sqlite:///{directory}/db.sqlite", os.path.join(directory, "blobs"), free_port()
        if kind == "trackboard":
            command = [sys.executable, "-m", "trackboard.cli", "server", "--db", db, "--blobs", blobs,
                       "--port", str(port), "--workers", str(workers)]
        else:
            command = [sys.executable, "-c", UVICORN_ALL_AT_ONCE, db, blobs, str(port), str(workers)]
        return first_answer(command, port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"trackboard": [], "uvicorn": []}
    for _ in range(args.repeats):  # interleaved, so both see the same load
        for kind in times:
            times[kind].append(measure(kind, args.workers))
    ours, baseline = statistics.median(times["trackboard"]), statistics.median(times["uvicorn"])
    row(f"first answer of --workers {args.workers} (median of {args.repeats})", f"{ours:.2f} s",
        f"{baseline:.2f} s uvicorn all at once", f"{baseline / ours:.1f}x sooner")
    row("  single measures", " ".join(f"{t:.2f}" for t in times["trackboard"]),
        " ".join(f"{t:.2f}" for t in times["uvicorn"]))
    print_table()


if __name__ == "__main__":
    main()
