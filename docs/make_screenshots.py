"""Screenshots of the dashboard for the README: docs/experiment.png, docs/project.png, docs/compare.png.

    python docs/make_screenshots.py            # a demo store in a temporary directory
    python docs/make_screenshots.py --keep DIR # keep the demo store in DIR (then: trackboard ui --dir DIR)

Fills an embedded store with a small, realistic image-classification project through the public
``trackboard.Client``, serves it with ``trackboard ui`` and photographs the pages in headless
Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright).
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from trackboard import Client, LogType

DOCS = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("TRACKBOARD_CHROMIUM", "/usr/bin/chromium")
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _curve(rng: np.random.Generator, steps: int, start: float, end: float, rate: float, noise: float) -> np.ndarray:
    x = np.arange(steps)
    clean = end + (start - end) * np.exp(-rate * x / steps)
    return clean * (1 + noise * rng.standard_normal(steps))


def _image(rng: np.random.Generator, seed: int) -> bytes:
    """A small synthetic picture (gradients and a disc) as PNG bytes."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (160, 120))
    pixels = np.zeros((120, 160, 3), dtype=np.uint8)
    hue = rng.integers(0, 255, 3)
    yy, xx = np.mgrid[0:120, 0:160]
    for c in range(3):
        pixels[..., c] = (hue[c] * 0.6 + xx * 0.5 + yy * 0.3 * (c + 1)) % 255
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    draw.ellipse([40 + seed * 7 % 50, 25, 100 + seed * 7 % 50, 85], fill=tuple(int(v) for v in 255 - hue))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def populate_demo(directory: str | os.PathLike, experiments: int = 10, seed: int = 7) -> dict:
    """A demo project; returns the ids of the project, the experiment to show and those to compare."""
    rng = np.random.default_rng(seed)
    client = Client(directory=directory)
    project = client.get_or_create_project("cifar10-resnet", "ResNet variants on CIFAR-10: learning rate, width and augmentation sweeps.")
    ids: dict = {"project": project.id, "compare": []}
    configs = [
        {"lr": lr, "batch_size": bs, "optimizer": {"name": opt, "momentum": 0.9, "weight_decay": 5e-4}, "model": {"depth": depth, "width": width}, "augment": aug}
        for lr, bs, opt, depth, width, aug in [
            (0.1, 128, "sgd", 18, 64, True), (0.05, 128, "sgd", 18, 64, True), (0.01, 128, "sgd", 18, 64, True),
            (0.1, 256, "sgd", 34, 64, True), (3e-4, 128, "adamw", 18, 64, False), (1e-3, 128, "adamw", 18, 96, True),
            (0.1, 128, "sgd", 50, 64, True), (0.2, 512, "sgd", 18, 64, True), (1e-3, 64, "adamw", 34, 96, True),
            (0.05, 256, "sgd", 18, 128, True), (0.02, 128, "sgd", 34, 128, True), (0.1, 128, "sgd", 18, 32, False),
        ][:experiments]
    ]
    for i, params in enumerate(configs):
        quality = 0.78 + 0.16 * rng.random() + (0.03 if params["augment"] else -0.04)
        quality = min(quality, 0.965)
        name = f"resnet{params['model']['depth']}-w{params['model']['width']}-{params['optimizer']['name']}-lr{params['lr']:g}-b{params['batch_size']}"
        experiment = project.get_or_create_experiment(name, parameters=params)
        steps = 1500
        train_loss = _curve(rng, steps, 2.3, 2.3 * (1 - quality) * 0.8, 5, 0.08)
        val_loss = _curve(rng, 30, 2.1, 2.3 * (1 - quality) * 1.1, 4, 0.03)
        experiment.log("train/loss", {"steps": np.arange(steps) * 50, "values": train_loss}, LogType.LINE)
        experiment.log("train/accuracy", {"steps": np.arange(steps) * 50, "values": 1 - train_loss / 2.6}, LogType.LINE)
        experiment.log("train/lr", {"steps": np.arange(steps) * 50, "values": params["lr"] * 0.5 * (1 + np.cos(np.pi * np.arange(steps) / steps))}, LogType.LINE)
        experiment.log("val/loss", {"steps": np.arange(1, 31) * 2500, "values": val_loss}, LogType.LINE)
        experiment.log("val/accuracy", {"steps": np.arange(1, 31) * 2500,
                                        "values": quality * (1 - np.exp(-np.arange(1, 31) / 6)) + 0.004 * rng.standard_normal(30)}, LogType.LINE)
        experiment.log("best_val_accuracy", round(float(quality), 4), LogType.VALUE)
        experiment.log("test_accuracy", round(float(quality - 0.006 + 0.004 * rng.standard_normal()), 4), LogType.VALUE)
        experiment.log("epochs", 30, LogType.VALUE)
        experiment.log("params_millions", round(11.2 * (params["model"]["depth"] / 18) * (params["model"]["width"] / 64) ** 2, 1), LogType.VALUE)
        if i in (0, 1, 5):
            ids["compare"].append(experiment.id)
        if i == 1:
            _rich_logs(experiment, rng, quality)
            ids["experiment"] = experiment.id
        if i == len(configs) - 1:
            experiment.flush()  # the last run is still going
        else:
            experiment.close("FAILED" if i == 7 else "SUCCESS")
    client.flush()
    _backdate(directory, project.id, rng)
    return ids


def _backdate(directory: str | os.PathLike, project_id: str, rng: np.random.Generator) -> None:
    """Spread the demo runs over the last days with realistic durations (they were logged in seconds)."""
    from trackboard.store import schema as t
    from trackboard.store.engine import write_transaction
    from trackboard.store.sql import Store

    store = Store.at_directory(directory)
    now = time.time()
    runs = store.list_experiments(project_id)
    with write_transaction(store.engine) as conn:
        for i, run in enumerate(runs):
            created = now - (len(runs) - i) * 5.5 * 3600 + rng.uniform(0, 3600)
            finished = None if run["status"] == "RUNNING" else created + rng.uniform(1800, 4 * 3600)
            if finished is None:
                created = now - rng.uniform(1800, 3600)
            conn.execute(t.experiments.update().where(t.experiments.c.id == run["id"]).values(
                created_at=created, finished_at=finished, updated_at=finished or now))
    store.close()


def _rich_logs(experiment, rng: np.random.Generator, quality: float) -> None:
    """Every other log type, on the experiment the screenshot shows."""
    n = len(CLASSES)
    confusion = np.zeros((n + 1, n + 1), dtype=int)
    for t in range(n):
        row = rng.multinomial(1000, np.r_[np.full(n, (1 - quality) / (n - 1)), 0.0] + np.eye(n + 1)[t] * (quality - (1 - quality) / (n - 1)))
        confusion[t] = row
    confusion[n, :n] = rng.integers(0, 12, n)
    confusion[:n, n] = rng.integers(0, 9, n)
    experiment.log("val/confusion_matrix", {"categories": CLASSES, "values": confusion}, LogType.HEATMAP)
    experiment.log("labelmap", CLASSES, LogType.LABELMAP)
    def near(mean: float) -> float:
        return round(float(np.clip(mean + 0.04 * rng.standard_normal(), 0, 1)), 3)

    per_class = {c: {"precision": near(quality), "recall": near(quality)} for c in CLASSES}
    experiment.log("val/per_class_recall", {"x": CLASSES, "y": [v["recall"] for v in per_class.values()]}, LogType.BAR)
    samples = []
    for k in range(120):
        truth = CLASSES[int(rng.integers(n))]
        wrong = rng.random() > quality
        samples.append({"id": f"test_{k:05d}", "ground_truth": truth,
                        "prediction": CLASSES[int(rng.integers(n))] if wrong else truth, "score": round(float(rng.uniform(0.4, 1.0)), 3)})
    experiment.log("evaluation", {"metrics": {"accuracy": round(quality, 4), "macro_f1": round(quality - 0.01, 4), "top5": 0.995, "loss": 0.31},
                                  "per_class": per_class, "samples": samples, "split": "test"}, LogType.EVALUATION)
    for k in range(2):
        experiment.log(f"samples/batch_{k}", _image(rng, k), LogType.IMAGE)
    experiment.log("environment", {"python": "3.11", "torch": "2.4", "cuda": {"version": "12.4", "devices": ["H100"]}, "seed": 7}, LogType.TABLE)
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model.safetensors"
        model.write_bytes(os.urandom(256 * 1024))
        experiment.store("model", model)
        card = Path(tmp) / "README.md"
        card.write_text("# resnet18\ntrained on CIFAR-10\n")
        experiment.store("model-card", card)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(directory: str | os.PathLike, port: int) -> subprocess.Popen:
    """``trackboard ui`` on the store, once it answers."""
    process = subprocess.Popen([sys.executable, "-m", "trackboard.cli", "ui", "--dir", str(directory), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ui/data/projects", timeout=1).read()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"trackboard ui exited: {process.stderr.read().decode()}")
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("trackboard ui did not start")


def screenshots(base: str, ids: dict, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
        shots = [
            ("project.png", f"{base}/ui/projects/{ids['project']}", 760),
            ("experiment.png", f"{base}/ui/experiments/{ids['experiment']}", 2100),
            ("compare.png", f"{base}/ui/compare?ids={','.join(ids['compare'])}", 1300),
        ]
        for name, url, height in shots:
            page.set_viewport_size({"width": 1440, "height": height})
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']")
            page.wait_for_timeout(600)  # plotly's transitions and lazy panels settle
            page.screenshot(path=str(out / name))
            print(f"wrote {out / name}")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", help="directory for the demo store (kept afterwards)")
    parser.add_argument("--out", default=str(DOCS), help="where to write the PNG files")
    args = parser.parse_args()
    directory = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="trackboard-demo-"))
    ids = populate_demo(directory)
    port = free_port()
    server = serve(directory, port)
    try:
        screenshots(f"http://127.0.0.1:{port}", ids, Path(args.out))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
