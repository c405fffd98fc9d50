"""Dashboard benchmark: page paint times in a real browser and the data endpoints, against a baseline.

    python benchmarks/bench_dashboard.py                     # builds the data in a temporary store
    python benchmarks/bench_dashboard.py --dir DIR           # builds it in DIR once, reuses it afterwards
    python benchmarks/bench_dashboard.py --baseline 8d98a5d  # also measures that commit's dashboard

Measures, against ``trackboard ui`` in a subprocess and headless Chromium (Playwright), median of
``--repeat`` (5) loads:

* every page's first useful paint (the page's ``data-ready``: the projects list, a 200-log
  experiment page with its first screen of panels drawn, a 1,000-run and a 10,000-run project
  table with their first rows, a compare view of 10 runs), cold (a fresh browser context: no HTTP
  cache) and warm (the same page opened again from a link in the same context). On the chart
  pages (experiment, compare) three moments: "content painted" (summary, tables, panel frames),
  "first screen with charts" (``data-ready``: every LINE chart of the first screen drawn, as the
  SVG sketch of charts/sketch.js until plotly.js is loaded, then by plotly) and, without a
  target, "charts interactive" (no sketch left: every chart is plotly's, hover and zoom work);
* sorting the 1,000-run table by a column (click to the next frame);
* the ``/series`` endpoint for a 1,000,000-point LINE log (downsampled to ~1,000 buckets), zoomed,
  and smoothed; the 1,000-run table's JSON (time and bytes on the wire, gzip accepted).

With ``--baseline REF`` the same measures run against the dashboard of git commit REF (its
``core``, ``server`` and ``callbacks`` extracted to a temporary package, first on PYTHONPATH), on
the same store, in the same run: the machine's load is the same for both columns.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(TESTS / "dashboard"), str(TESTS)]  # the tests' live-server and browser helpers
from dashhelpers import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from live_process import trackboard_process, without_trackboard_env  # noqa: E402

from trackboard import Client, LogType  # noqa: E402

TARGET_SERIES_MS = 100
TARGET_WARM_MS = 300  # every page's first useful paint, warm
TARGET_COLD_MS = 1_000  # ... and cold
TARGET_TABLE_MS = 400  # the 1,000-run table painted (warm)
TARGET_SORT_MS = 50
TARGET_10K_MS = 1_000  # the 10,000-run project's first rows (cold)
REPO = Path(__file__).resolve().parents[1]

# Records when the page marks itself ready (body[data-ready]: the first screen drawn, charts
# included) and painted (body[data-painted]: its content shown, charts still to come; pages that
# do not mark it count as painted when ready), the same way for any version.
READY_SCRIPT = """
new MutationObserver((_, observer) => {
  const body = document.body;
  if (!body) return;
  if (body.dataset.painted === "1" && window.__paintedAt === undefined) window.__paintedAt = performance.now();
  if (body.dataset.ready === "1") {
    window.__readyAt = performance.now();
    window.__sketchedAtReady = Boolean(document.querySelector("svg.chart-sketch"));
    if (window.__paintedAt === undefined) window.__paintedAt = window.__readyAt;
    observer.disconnect();
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-ready", "data-painted"] });
"""


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


def time_get(url: str, repeat: int) -> tuple[list[float], int]:
    """(ms per GET, bytes on the wire with gzip accepted)."""
    times, size = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as response:
            size = len(response.read())
        times.append((time.perf_counter() - start) * 1000)
    return times, size


# When every chart is plotly's (no sketch left, charts/sketch.js): hover and zoom work from then on.
# A version without sketches is interactive when it is ready.
INTERACTIVE = """() => (document.querySelector("svg.chart-sketch") || !window.Plotly) ? false
  : Math.max(performance.now(), window.__readyAt)"""


def page_load(browser, url: str, charts: bool = False) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """((painted, ready[, interactive]) cold in a fresh context, the same warm: the same page again), ms from navigation."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.add_init_script(READY_SCRIPT)
    page = context.new_page()
    out = []
    for _ in range(2):
        page.goto(url)
        page.wait_for_function("() => window.__readyAt !== undefined", timeout=120_000)
        times = page.evaluate("[window.__paintedAt, window.__readyAt]")
        if charts:
            sketched = page.evaluate("() => window.__sketchedAtReady")
            interactive = page.wait_for_function(INTERACTIVE, timeout=120_000).json_value()
            times.append(interactive if sketched else times[1])
        out.append(tuple(times))
        page.goto("about:blank")
    context.close()
    return out[0], out[1]


def sort_times(browser, url: str, repeat: int) -> list[float]:
    """Click a value column's header and wait for the next frame, in ms."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.add_init_script(READY_SCRIPT)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("() => window.__readyAt !== undefined", timeout=120_000)
    page.wait_for_timeout(1500)  # the rest of the rows, where they come in a second answer
    times = []
    for i in range(repeat):
        times.append(page.evaluate("""async (label) => {
            const th = [...document.querySelectorAll('table.runs thead th.sortable')].find((h) => h.textContent.startsWith(label));
            const start = performance.now();
            th.click();
            await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
            return performance.now() - start;
        }""", ["accuracy", "f1"][i % 2]))
    context.close()
    return times


def measure(browser, bases: dict[str, str], ids: dict[str, str], repeat: int) -> dict[str, dict[str, tuple[list[float], float]]]:
    """Every measure against each running dashboard (label -> base URL), taking turns so that both
    see the same load: label -> measure -> (times in ms, target)."""
    out: dict[str, dict[str, tuple[list[float], float]]] = {label: {} for label in bases}

    def each(name: str, target: float, fn, rounds: int) -> None:
        """fn(base) -> times of one round; the dashboards take turns round by round."""
        for label in bases:
            out[label][name] = ([], target)
        for _ in range(rounds):
            for label, base in bases.items():
                out[label][name][0].extend(fn(base))

    series = lambda base: f"{base}/ui/data/experiments/{ids['series']}/series?name=loss"  # noqa: E731
    table = lambda base: f"{base}/ui/data/projects/{ids['project']}"  # noqa: E731
    for base in bases.values():
        time_get(series(base), 1)
    each("1M-point series, downsampled", TARGET_SERIES_MS, lambda b: time_get(series(b), 1)[0], 20)
    each("1M-point series, zoomed to 50k steps", TARGET_SERIES_MS, lambda b: time_get(series(b) + "&step_min=400000&step_max=450000", 1)[0], 20)
    each("1M-point series, smoothed 0.6 (baseline: not smoothed)", 0, lambda b: time_get(series(b) + "&smoothing=0.6", 1)[0], 10)
    each("1,000-run table JSON", 0, lambda b: time_get(table(b), 1)[0], 10)
    each("1,000-run table JSON, kB on the wire", 0, lambda b: [time_get(table(b), 1)[1] / 1000], 1)
    compare = ",".join(ids["compare"])
    pages = [
        ("projects list", "/ui/", TARGET_COLD_MS, TARGET_WARM_MS),
        ("experiment, 200 logs", f"/ui/experiments/{ids['logs']}", TARGET_COLD_MS, TARGET_WARM_MS),
        ("project, 1,000 runs", f"/ui/projects/{ids['project']}", TARGET_COLD_MS, TARGET_TABLE_MS),
        ("project, 10,000 runs", f"/ui/projects/{ids['project10k']}", TARGET_10K_MS, TARGET_10K_MS),
        ("compare, 10 runs", f"/ui/compare?ids={compare}", TARGET_COLD_MS, TARGET_WARM_MS),
    ]
    for name, path, cold_target, warm_target in pages:
        charts = name.startswith(("experiment", "compare"))
        loads: dict[str, list[tuple[float, ...]]] = {label: [] for label in bases}
        for _ in range(repeat):
            for label, base in bases.items():
                loads[label].append(page_load(browser, base + path, charts))
        for label in bases:
            for when, index, target in (("cold", 0, cold_target), ("warm", 1, warm_target)):
                if charts:
                    # Content first (summary, tables, panel frames), then the first screen's charts
                    # drawn (sketched, or by plotly), then every chart plotly's (hover, zoom).
                    if label != "baseline":  # it marks no such moment: nothing to compare
                        out[label][f"{name}: content painted, {when}"] = ([load[index][0] for load in loads[label]], target)
                    out[label][f"{name}: first screen with charts, {when}"] = ([load[index][1] for load in loads[label]], target)
                    out[label][f"{name}: charts interactive (plotly), {when}"] = ([load[index][2] for load in loads[label]], 0)
                else:
                    out[label][f"{name}: first paint, {when}"] = ([load[index][1] for load in loads[label]], target)
    each("sort the 1,000-run table", TARGET_SORT_MS, lambda b: sort_times(browser, f"{b}/ui/projects/{ids['project']}", 2), repeat)
    return out


@contextmanager
def baseline_package(ref: str) -> Iterator[Path]:
    """A directory holding ``trackboard`` as it was at git commit ``ref`` (core + server + callbacks)."""
    root = Path(tempfile.mkdtemp(prefix="trackboard-baseline-"))
    try:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "core", "server", "callbacks"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
        package = root / "pkg" / "trackboard"
        shutil.copytree(root / "core", package)
        shutil.copytree(root / "server", package / "server")
        shutil.copytree(root / "callbacks", package / "callbacks")
        yield root / "pkg"
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def baseline_store(directory: Path, package: Path) -> Iterator[Path]:
    """A copy of the store that the baseline's code will open: the same rows and blobs, its schema
    revision set back to the baseline's newest (later revisions only add columns it does not read)."""
    import re
    import sqlite3

    versions = package / "trackboard" / "store" / "migrations" / "versions"
    known = sorted(m.group(1) for f in versions.glob("v*.py") if (m := re.match(r"v(\d+)_", f.name)))
    root = Path(tempfile.mkdtemp(prefix="trackboard-baseline-store-"))
    try:
        with sqlite3.connect(directory / "trackboard.db") as source, sqlite3.connect(root / "trackboard.db") as copy:
            source.backup(copy)
            if known:
                copy.execute("UPDATE alembic_version SET version_num = ?", (known[-1],))
        (root / "blobs").symlink_to((directory / "blobs").resolve())
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def dashboard(directory: Path, pythonpath: Path | None) -> Iterator[str]:
    env = without_trackboard_env()
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with trackboard_process("ui", "--dir", str(directory), ready_path="/ui/data/projects", env=env) as base:
        yield base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", help="store directory (built once, reused)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", help="git commit whose dashboard is measured beside this one")
    args = parser.parse_args()
    directory = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="trackboard-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    ids = existing_ids(directory)
    if ids is None:
        start = time.perf_counter()
        ids = build(directory)
        print(f"built the benchmark store in {time.perf_counter() - start:.1f} s ({directory})", file=sys.stderr)
    client = Client(directory=directory)
    ids["compare"] = [e.id for e in client.get_project("bench-project").list_experiments()[:10]]

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, ExitStack() as stack:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        bases = {"trackboard": stack.enter_context(dashboard(directory, None))}
        if args.baseline:
            package = stack.enter_context(baseline_package(args.baseline))
            bases["baseline"] = stack.enter_context(dashboard(stack.enter_context(baseline_store(directory, package)), package))
        results = measure(browser, bases, ids, args.repeat)
        browser.close()

    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    ours = results["trackboard"]
    theirs = results.get("baseline", {})
    header = ("measure (median ms)", "trackboard", f"baseline {args.baseline}" if args.baseline else "baseline", "target", "met")
    rows = []
    for name, (times, target) in ours.items():
        median = statistics.median(times)
        base_median = f"{statistics.median(theirs[name][0]):.1f}" if name in theirs else ""
        rows.append((name, f"{median:.1f}", base_median, f"{target:.0f}" if target else "", ("yes" if median <= target else "NO") if target else ""))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) + " |")


if __name__ == "__main__":
    main()
