"""Benchmark of the importers against the source's own reader; prints one table.

    python benchmarks/bench_import.py                 # 100 runs x 10,000 points (building the sources takes a while)
    python benchmarks/bench_import.py --runs 20 --points 2000

For each source, in one invocation on this machine:
* MLflow (its SQLite tracking store): the baseline is MLflow's own client reading every run
  and every metric's full history (``search_runs`` + ``get_metric_history``), which the importer
  also does; then ``trackboard import mlflow`` into a fresh embedded store, then the same import
  again (nothing new: the idempotent no-op).
* TensorBoard (event files by tensorboardX): the baseline is TensorBoard's own ``EventAccumulator``
  loading every run; then the import and the import again.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from results_table import print_table, row

from trackboard import Client
from trackboard.backend import release
from trackboard.importers import import_mlflow, import_tensorboard


def build_mlflow(uri: str, runs: int, points: int) -> None:
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("bench")
    for r in range(runs):
        run = client.create_run(experiment, run_name=f"run-{r}")
        client.log_param(run.info.run_id, "lr", 10 ** -(r % 4))
        for start in range(0, points, 1000):  # MLflow takes at most 1,000 metrics a batch
            metrics = [Metric("loss", 1.0 / (s + 1), 1_700_000_000_000 + s, s) for s in range(start, min(points, start + 1000))]
            client.log_batch(run.info.run_id, metrics=metrics)
        client.set_terminated(run.info.run_id)


def read_mlflow(uri: str) -> int:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    total = 0
    for experiment in client.search_experiments():
        for run in client.search_runs([experiment.experiment_id], max_results=1000):
            for key in run.data.metrics:
                total += len(client.get_metric_history(run.info.run_id, key))
    return total


def build_tensorboard(root: Path, runs: int, points: int) -> None:
    from tensorboardX import SummaryWriter

    for r in range(runs):
        with SummaryWriter(str(root / f"run-{r}")) as writer:
            for s in range(points):
                writer.add_scalar("loss", 1.0 / (s + 1), s, walltime=1_700_000_000 + s)


def read_tensorboard(root: Path) -> int:
    from tensorboard.backend.event_processing import event_accumulator as ea

    total = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        accumulator = ea.EventAccumulator(str(folder), size_guidance={ea.SCALARS: 0})
        accumulator.Reload()
        total += sum(len(accumulator.Scalars(tag)) for tag in accumulator.Tags()["scalars"])
    return total


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def compare(source: str, baseline_s: float, points: int, import_once, store: Path) -> None:
    client = Client(directory=store)
    first_s, first = timed(import_once, client)
    again_s, again = timed(import_once, client)
    release(store)
    assert first.points == points and again.points == 0 and again.unchanged == first.created, (first, again)
    row(f"{source}: read every point with its own reader", f"{baseline_s:.2f} s", "", f"{points / baseline_s:,.0f} pts/s")
    row(f"{source}: trackboard import (read + store)", f"{first_s:.2f} s", f"{baseline_s:.2f} s",
        f"{first_s / baseline_s:.2f}x the read alone", None)
    row(f"{source}: import again (nothing new)", f"{again_s:.2f} s", f"{baseline_s:.2f} s", f"{again_s / baseline_s:.2f}x", None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--points", type=int, default=10_000)
    args = parser.parse_args()
    total = args.runs * args.points
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        uri = f"sqlite:///{tmp / 'mlflow.db'}"
        build_mlflow(uri, args.runs, args.points)
        baseline_s, read = timed(read_mlflow, uri)
        assert read == total
        compare("MLflow", baseline_s, total, lambda client: import_mlflow(client, uri), tmp / "store-mlflow")

        build_tensorboard(tmp / "tb", args.runs, args.points)
        baseline_s, read = timed(read_tensorboard, tmp / "tb")
        assert read == total
        compare("TensorBoard", baseline_s, total, lambda client: import_tensorboard(client, tmp / "tb"), tmp / "store-tb")
    print(f"{args.runs} runs x {args.points:,} points")
    print_table()


if __name__ == "__main__":
    main()
