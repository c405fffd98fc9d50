"""What each framework adapter costs a training run; prints one table.

    python benchmarks/bench_adapters.py              # about 6 minutes on 2 CPU cores
    python benchmarks/bench_adapters.py --repeats 3  # quicker, noisier

For each framework the same tiny classifier fit runs with and without the adapter, in this one
process, alternating (with, without, without, with, ...) after a warm-up of each; the table shows
the median wall time of each side and the overhead as the median of paired differences.
Per-step logging is on (Lightning ``log_every_n_steps=1``, Keras ``log_every_n_steps=1``, Hugging
Face ``logging_steps=1``), so the difference is everything the adapter brings: its hooks, the
framework's own work to feed a logger, the final confusion matrix and the final flush to the
embedded SQLite store. Targets: at most 3 % of the fit's wall time and 30 us per optimizer step.

The rows in parentheses are references, not trackboard: the same Lightning fit with a Logger that
does nothing, i.e. what Lightning itself spends feeding any logger (included in the Lightning
row), and with Lightning's own CSVLogger and TensorBoardLogger; the same Hugging Face fit with a
TrainerCallback that does nothing (Trainer calls every event of every callback, each with a dozen
keyword arguments: included in the Hugging Face row).
"cpu overhead" compares CPU time of this process (all its threads, the store's writer included)
and "best-of overhead" the fastest fit of each side: both move less with other work on a shared
machine. "hooks in fit" is the time spent inside the adapter's own hooks during a real fit (every
hook the framework calls on it, timed one by one), per optimizer step: unlike the wall-clock
difference it does not move with the fit-to-fit noise of a few tens of milliseconds, and leaves
out the framework's own work around the hooks. "of which start/end" is the part in hooks called a
few times a run (parameters, epoch ends, the final confusion matrix and flush): a fixed cost, the
same for a longer fit. "hook alone" is the per-step hook called in a tight loop with the metrics
the framework passes it (median over blocks of calls, flushes to the store included).

Everything runs on the CPU; ``check_device_syncs.py`` counts device syncs on a GPU.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import os
import statistics
import sys
import tempfile
import time
import warnings
from typing import Callable, Iterator

os.environ.setdefault("KERAS_BACKEND", "torch")
warnings.filterwarnings("ignore")

import torch  # noqa: E402
from results_table import print_grid  # noqa: E402
from tiny_fits import keras_fit, lightning_fit, transformers_fit  # noqa: E402

from trackboard import Client  # noqa: E402

SAMPLES, BATCH, EPOCHS = 4096, 4, 2  # 2048 optimizer steps a fit
HOOK_CALLS = 20_000
TIMED_FITS = 3  # extra fits with the adapter's hooks timed one by one
# A Lightning Logger's entry points; every adapter's "on_*" methods are hooks too.
LOGGER_ENTRY_POINTS = ("log_metrics", "log_hyperparams", "finalize", "save", "after_save_checkpoint")


def quiet_frameworks() -> None:
    import logging

    import lightning.pytorch  # noqa: F401 - so that its loggers exist and can be silenced
    import transformers  # noqa: F401

    for name in list(logging.root.manager.loggerDict):
        if name.startswith(("lightning", "pytorch_lightning", "transformers")):
            logging.getLogger(name).setLevel(logging.ERROR)
    torch.set_num_threads(1)  # steadier timings; both sides run the same way


# -- the hooks alone ------------------------------------------------------------------------------


def lightning_hook(client: Client) -> Callable[[int], None]:
    from trackboard.callbacks.lightning import TrackboardLogger

    logger = TrackboardLogger(project="bench-hooks", client=client)
    return lambda step: logger.log_metrics({"train_loss": 0.5, "epoch": 0}, step)


def keras_hook(client: Client) -> Callable[[int], None]:
    from trackboard.callbacks.keras import TrackboardCallback

    callback = TrackboardCallback(project="bench-hooks", client=client, log_every_n_steps=1)
    return lambda step: callback.on_train_batch_end(step, {"loss": 0.5, "accuracy": 0.75})


def transformers_hook(client: Client) -> Callable[[int], None]:
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from trackboard.callbacks.transformers import TrackboardCallback

    callback = TrackboardCallback(project="bench-hooks", client=client)
    args = TrainingArguments(tempfile.mkdtemp(), report_to="none", use_cpu=True)
    state, control = TrainerState(is_world_process_zero=True), TrainerControl()

    def hook(step: int) -> None:
        state.global_step, state.epoch = step, step / 1000
        callback.on_log(args, state, control, logs={"loss": 0.5, "grad_norm": 1.25, "learning_rate": 5e-5,
                                                     "epoch": state.epoch})

    return hook


def hook_cost_us(hook: Callable[[int], None]) -> float:
    blocks = []
    for block in range(5):
        start = time.perf_counter_ns()
        for step in range(block * HOOK_CALLS, (block + 1) * HOOK_CALLS):
            hook(step)
        blocks.append((time.perf_counter_ns() - start) / HOOK_CALLS / 1e3)
    return statistics.median(blocks)


# -- the adapter's own code inside a real fit --------------------------------------------------


@contextlib.contextmanager
def timed_hooks(classes: tuple[type, ...]) -> Iterator[dict[str, list[int]]]:
    """Time every hook the framework calls on the adapter: ``{"Class.hook": [calls, ns]}``.

    The hooks are the ``on_*`` methods (and a Lightning Logger's entry points) that the adapter
    classes define themselves; the framework's own work around them is not counted.
    """
    spent: dict[str, list[int]] = {}
    originals = []
    for cls in classes:
        for name, hook in list(vars(cls).items()):
            if callable(hook) and (name.startswith("on_") or name in LOGGER_ENTRY_POINTS):
                originals.append((cls, name, hook))
                setattr(cls, name, _timed(hook, spent.setdefault(f"{cls.__name__}.{name}", [0, 0])))
    try:
        yield spent
    finally:
        for cls, name, hook in originals:
            setattr(cls, name, hook)


def _timed(hook: Callable, cell: list[int]) -> Callable:
    @functools.wraps(hook)
    def timed(*args, **kwargs):
        start = time.perf_counter_ns()
        try:
            return hook(*args, **kwargs)
        finally:
            cell[0] += 1
            cell[1] += time.perf_counter_ns() - start

    return timed


def hooks_in_fit(fit: Callable, client: Client, classes: tuple[type, ...]) -> dict[str, float]:
    """The adapter's hook time per optimizer step, and the part spent in hooks called a few times a
    run (start, epoch ends, the final confusion matrix and flush), medians over a few fits."""
    per_step, few = [], []
    for _ in range(TIMED_FITS):
        with timed_hooks(classes) as spent:
            _, steps = fit(client, "trackboard")
        per_step.append(sum(ns for _, ns in spent.values()) / steps / 1e3)
        few.append(sum(ns for calls, ns in spent.values() if calls <= 2 * EPOCHS) / 1e6)
    return {"in_fit": statistics.median(per_step), "fixed": statistics.median(few)}


# -- the table -------------------------------------------------------------------------------------


def reference_lightning_fit(logger: str) -> Callable[[Client, str], tuple[float, int]]:
    """The Lightning fit with another logger on the "with" side."""
    return lambda client, tracking: lightning_fit(client, logger if tracking == "trackboard" else tracking,
                                                  samples=SAMPLES, batch=BATCH, epochs=EPOCHS, accelerator="cpu")


def lightning_adapter() -> tuple[type, ...]:
    from trackboard.callbacks.lightning import ConfusionMatrixCallback, TrackboardLogger

    return TrackboardLogger, ConfusionMatrixCallback


def keras_adapter() -> tuple[type, ...]:
    from trackboard.callbacks.keras import TrackboardCallback

    return (TrackboardCallback,)


def transformers_adapter() -> tuple[type, ...]:
    from trackboard.callbacks.transformers import TrackboardCallback

    return (TrackboardCallback,)


# name -> (fit(client, tracking), hook(client), adapter classes); the "with" side is "trackboard",
# "without" is "none", but for the no-op Logger reference.
FRAMEWORKS = {
    "Lightning": (lambda client, tracking: lightning_fit(client, tracking, samples=SAMPLES, batch=BATCH,
                                                         epochs=EPOCHS, accelerator="cpu"),
                  lightning_hook, lightning_adapter),
    "(Lightning, a no-op Logger)": (reference_lightning_fit("no-op"), None, None),
    "(Lightning, its CSVLogger)": (reference_lightning_fit("csv"), None, None),
    "(Lightning, its TensorBoardLogger)": (reference_lightning_fit("tensorboard"), None, None),
    "Keras 3 (torch)": (lambda client, tracking: keras_fit(client, tracking, samples=SAMPLES, batch=BATCH,
                                                           epochs=EPOCHS), keras_hook, keras_adapter),
    "Hugging Face": (lambda client, tracking: transformers_fit(client, tracking, samples=SAMPLES, batch=BATCH,
                                                               epochs=EPOCHS, use_cpu=True),
                     transformers_hook, transformers_adapter),
    "(Hugging Face, a no-op callback)": (lambda client, tracking: transformers_fit(
        client, "no-op" if tracking == "trackboard" else tracking, samples=SAMPLES, batch=BATCH, epochs=EPOCHS,
        use_cpu=True), None, None),
}


def measure(fit: Callable, client: Client, repeats: int) -> dict[str, float]:
    """Median wall and CPU time (this process, all threads) of fits with and without the adapter.

    The overhead is the median of paired differences (each with-fit against the without-fit run
    next to it), which cancels most of the drift of a machine shared with other work.
    """
    fit(client, "none"), fit(client, "trackboard")  # warm-up: imports, first-call caches, the store's tables
    samples: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    steps = 0
    for repeat in range(repeats):
        for with_adapter in ((True, False) if repeat % 2 == 0 else (False, True)):
            gc.collect()
            cpu = time.process_time()
            seconds, steps = fit(client, "trackboard" if with_adapter else "none")
            samples[with_adapter].append((seconds, time.process_time() - cpu))
    wall = {side: statistics.median(s for s, _ in samples[side]) for side in samples}
    cpu = {side: statistics.median(c for _, c in samples[side]) for side in samples}
    extra_wall = statistics.median(a[0] - b[0] for a, b in zip(samples[True], samples[False], strict=True))
    extra_cpu = statistics.median(a[1] - b[1] for a, b in zip(samples[True], samples[False], strict=True))
    best = {side: min(s for s, _ in samples[side]) for side in samples}
    return {"steps": steps, "without": wall[False], "with": wall[True], "overhead": extra_wall / wall[False] * 100,
            "per_step": extra_wall / steps * 1e6, "cpu_overhead": extra_cpu / cpu[False] * 100,
            "best_overhead": (best[True] - best[False]) / best[False] * 100}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed fits per side (default 9)")
    parser.add_argument("--only", choices=list(FRAMEWORKS), action="append", help="these rows only (repeatable)")
    options = parser.parse_args()
    quiet_frameworks()

    rows = []
    with tempfile.TemporaryDirectory() as directory:
        client = Client(directory=directory)
        for name, (fit, hook, adapter) in FRAMEWORKS.items():
            if options.only and name not in options.only:
                continue
            print(f"... {name}", file=sys.stderr, flush=True)
            result = measure(fit, client, options.repeats)
            if hook is not None:
                result["hook"] = hook_cost_us(hook(client))
                result.update(hooks_in_fit(fit, client, adapter()))
            rows.append((name, result))
        client.flush()

    header = ("adapter", "steps", "fit without", "fit with", "overhead", "per step", "cpu overhead", "best-of overhead",
              "hooks in fit", "of which start/end", "hook alone", "ok")
    lines = []
    for name, r in rows:
        adapter = "hook" in r
        ok = r["overhead"] <= 3.0 and r["per_step"] <= 30.0 if adapter else None
        lines.append((name, str(r["steps"]), f"{r['without']:.3f} s", f"{r['with']:.3f} s", f"{r['overhead']:+.2f} %",
                      f"{r['per_step']:+.1f} us", f"{r['cpu_overhead']:+.2f} %", f"{r['best_overhead']:+.2f} %",
                      f"{r['in_fit']:.1f} us/step" if adapter else "", f"{r['fixed']:.1f} ms" if adapter else "",
                      f"{r['hook']:.2f} us" if adapter else "", {True: "yes", False: "NO", None: ""}[ok]))
    print(f"median of {options.repeats} fits per side, {torch.get_num_threads()} torch thread(s), "
          f"{os.cpu_count()} CPUs; targets: overhead <= 3 %, <= 30 us per optimizer step")
    print_grid(header, lines)
    print("not measured here: extra device syncs on a GPU (benchmarks/check_device_syncs.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
