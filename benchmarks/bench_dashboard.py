"""Dashboard benchmark: series endpoint latency and page render times in a real browser.

    python benchmarks/bench_dashboard.py             # builds the data in a temporary store
    python benchmarks/bench_dashboard.py --dir DIR   # builds it in DIR once, reuses it afterwards

Measures, against ``trackboard ui`` in a subprocess and headless Chromium (Playwright):

* the ``/series`` endpoint for a 1,000,000-point LINE log (downsampled to ~1,000 buckets), and a
  zoomed read of it;
* the experiment page of an experiment with 200 logs of every type: time from navigation start
  until the page reports itself rendered (summary, every panel's frame, and the panels in the
  first screen drawn; the others draw as they scroll into view);
* the project page of a project with 1,000 experiments (every row with its values, last values
  and parameters in the table).

Page loads are measured in a fresh browser context each time ("cold": no HTTP cache, plotly.js
downloaded and compiled) and by reloading ("warm"). Prints a table against the targets.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(TESTS / "dashboard"), str(TESTS)]  # the tests' live-server and browser helpers
from dashhelpers import CHROMIUM, CHROMIUM_ARGS, live_ui  # noqa: E402

from trackboard import Client, LogType  # noqa: E402

TARGET_SERIES_MS = 100
TARGET_PAGE_MS = 1_500
MARKER = "benchmark-ready"


def _png(seed: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(out, format="PNG")
    return out.getvalue()


def build(directory: Path) -> dict[str, str]:
    """The three datasets, through the public client; returns the ids to open."""
    client = Client(directory=directory)
    rng = np.random.default_rng(0)
    ids: dict[str, str] = {}

    big = client.get_or_create_project("bench-series").create_experiment("million")
    n = 1_000_000
    big.log("loss", {"steps": np.arange(n), "values": np.exp(-np.arange(n) / 2e5) + 0.05 * rng.standard_normal(n)}, LogType.LINE)
    big.close()
    ids["series"] = big.id

    logs = client.get_or_create_project("bench-logs").create_experiment("two-hundred-logs", parameters={"lr": 0.01})
    categories = [f"class_{i}" for i in range(8)]
    count = 1  # the parameters TABLE
    for group in range(14):
        for k in range(10):
            logs.log(f"group{group:02d}/metric{k}", {"steps": np.arange(2_000), "values": rng.standard_normal(2_000).cumsum()}, LogType.LINE)
            count += 1
    for k in range(15):
        logs.log(f"value_{k}", float(rng.random()), LogType.VALUE)
    for k in range(9):
        logs.log(f"tables/table_{k}", {"a": k, "nested": {"b": k * 2, "c": [1, 2, 3]}}, LogType.TABLE)
    for k in range(10):
        logs.log(f"bars/bar_{k}", {"x": categories, "y": rng.random(8).tolist()}, LogType.BAR)
        logs.log(f"heatmaps/confusion_{k}", {"categories": categories, "values": rng.integers(0, 50, (9, 9))}, LogType.HEATMAP)
    for k in range(5):
        logs.log(f"images/image_{k}", _png(k), LogType.IMAGE)
        logs.log(f"labelmaps/labelmap_{k}", categories, LogType.LABELMAP)
        samples = [{"id": i, "ground_truth": categories[i % 8], "prediction": categories[(i * 3) % 8], "score": 0.5} for i in range(200)]
        logs.log(f"evaluations/eval_{k}", {"metrics": {"accuracy": 0.9, "f1": 0.88}, "samples": samples}, LogType.EVALUATION)
    count += 15 + 9 + 20 + 15
    assert count == 200, count
    logs.close()
    ids["logs"] = logs.id

    ids["project"] = _sweep(client, "bench-project", 1_000, rng)
    ids["project10k"] = _sweep(client, "bench-project-10k", 10_000, rng)
    client.flush()
    return ids


def _sweep(client: Client, name: str, runs: int, rng: np.random.Generator) -> str:
    """A project of ``runs`` finished experiments, each with values, two LINE logs and parameters."""
    project = client.get_or_create_project(name)
    for i in range(runs):
        run = project.create_experiment(f"run-{i:05d}", parameters={
            "lr": float(10 ** rng.uniform(-4, -1)), "batch_size": int(rng.choice([32, 64, 128])),
            "optimizer": {"name": str(rng.choice(["adam", "sgd"])), "momentum": 0.9}, "seed": i,
        })
        for metric in ("accuracy", "f1", "precision", "recall", "auc"):
            run.log(metric, float(rng.random()), LogType.VALUE)
        run.log("train/loss", {"steps": np.arange(100), "values": rng.random(100)}, LogType.LINE)
        run.log("val", {"loss": rng.random(10).tolist(), "accuracy": rng.random(10).tolist()}, LogType.LINE)
        run.close()
    return project.id


def existing_ids(directory: Path) -> dict[str, str] | None:
    from trackboard.errors import NotFoundError

    if not (directory / "trackboard.db").exists():
        return None
    client = Client(directory=directory)
    try:
        return {
            "series": client.get_project("bench-series").get_experiment("million").id,
            "logs": client.get_project("bench-logs").get_experiment("two-hundred-logs").id,
            "project": client.get_project("bench-project").id,
            "project10k": client.get_project("bench-project-10k").id,
        }
    except NotFoundError:
        return None


def time_get(url: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        with urllib.request.urlopen(url) as response:
            response.read()
        times.append((time.perf_counter() - start) * 1000)
    return times


def page_times(browser, url: str, repeat: int) -> tuple[list[float], list[float]]:
    """(cold loads in fresh contexts, warm reloads) in ms from navigation start to data-ready."""
    ready = "body[data-ready='1']"
    cold, warm = [], []
    for _ in range(repeat):
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector(ready, timeout=60_000)
        cold.append(page.evaluate("window.trackboardReadyAt"))
        page.reload()
        page.wait_for_selector(ready, timeout=60_000)
        warm.append(page.evaluate("window.trackboardReadyAt"))
        context.close()
    return cold, warm


def row(what: str, times: list[float], target: float) -> tuple[str, str, str, str, str]:
    median, worst = statistics.median(times), max(times)
    return (what, f"{median:8.1f}", f"{worst:8.1f}", f"{target:6.0f}", "yes" if worst <= target else "NO")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", help="store directory (built once, reused)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    directory = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="trackboard-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    ids = existing_ids(directory)
    if ids is None:
        start = time.perf_counter()
        ids = build(directory)
        print(f"built the benchmark store in {time.perf_counter() - start:.1f} s ({directory})", file=sys.stderr)

    from playwright.sync_api import sync_playwright

    rows = []
    with live_ui(directory) as base:
        series = f"{base}/ui/data/experiments/{ids['series']}/series?name=loss"
        first = time_get(series, 1)
        rows.append(row("1M-point series, downsampled (first request)", first, TARGET_SERIES_MS))
        rows.append(row("1M-point series, downsampled", time_get(series, 20), TARGET_SERIES_MS))
        rows.append(row("1M-point series, zoomed to 50k steps", time_get(series + "&step_min=400000&step_max=450000", 20), TARGET_SERIES_MS))
        rows.append(row("project table JSON, 1,000 experiments", time_get(f"{base}/ui/data/projects/{ids['project']}", 10), TARGET_PAGE_MS))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            cold, warm = page_times(browser, f"{base}/ui/experiments/{ids['logs']}", args.repeat)
            rows.append(row("experiment page, 200 logs (cold)", cold, TARGET_PAGE_MS))
            rows.append(row("experiment page, 200 logs (warm)", warm, TARGET_PAGE_MS))
            cold, warm = page_times(browser, f"{base}/ui/projects/{ids['project']}", args.repeat)
            rows.append(row("project page, 1,000 experiments (cold)", cold, TARGET_PAGE_MS))
            rows.append(row("project page, 1,000 experiments (warm)", warm, TARGET_PAGE_MS))
            browser.close()

    header = ("measurement", "median ms", "max ms", "target", "met")
    widths = [max(len(r[i].strip()) for r in [header, *rows]) for i in range(5)]
    line = lambda r: "| " + " | ".join(c.strip().ljust(w) if i == 0 else c.strip().rjust(w) for i, (c, w) in enumerate(zip(r, widths))) + " |"  # noqa: E731
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


if __name__ == "__main__":
    main()
