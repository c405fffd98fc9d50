"""Counts the CUDA synchronisations each framework adapter adds to a fit; prints one table.

    python benchmarks/check_device_syncs.py            # needs an NVIDIA GPU; about a minute
    python benchmarks/check_device_syncs.py --steps 64 # quicker

``torch.cuda.set_sync_debug_mode("warn")`` makes every call that makes the host wait for the GPU
(``.item()``, ``float(tensor)``, a copy to the host, ``nonzero``...) emit a warning. Each fit runs
with the mode on and every such warning is recorded with the Python stack that raised it, so for
each framework the table gives:

- the syncs of the whole fit without any logger, with a logger that does nothing (what the
  framework itself spends feeding any logger: Lightning turns logged tensors into numbers before
  calling a logger) and with the trackboard adapter;
- among them, the syncs raised from trackboard's own code, split between the hooks called every
  step (must be 0: the adapters use the numbers the framework already made and never touch a
  tensor on the hot path) and the others: the start of training (hyperparameters), epoch
  boundaries and the end of training (the confusion matrix: predictions stay on the device until
  one transfer at the end).

Per-step logging is on everywhere (Lightning ``log_every_n_steps=1``, Hugging Face
``logging_steps=1``, Keras ``log_every_n_steps=1``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import traceback
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

os.environ.setdefault("KERAS_BACKEND", "torch")

import torch  # noqa: E402
from results_table import print_grid  # noqa: E402
from tiny_fits import TRACKING, keras_fit, lightning_fit, transformers_fit  # noqa: E402

import trackboard  # noqa: E402
import trackboard.callbacks  # noqa: E402
from trackboard import Client  # noqa: E402

# Where trackboard's code lives (two folders in an editable install of the checkout).
TRACKBOARD_DIRS = tuple({str(Path(package.__file__).resolve().parent) for package in (trackboard, trackboard.callbacks)})


# The hooks a framework calls every step (or every logging step); a sync under any of them is a
# sync in the training loop. Lightning's log_metrics and Hugging Face's on_log also carry the
# epoch's validation metrics, counted here too.
PER_STEP_HOOKS = frozenset({"log_metrics", "on_log", "on_step_end", "on_train_batch_end", "_on_train_batch_end",
                            "on_before_optimizer_step", "on_train_batch_start"})


class SyncRecorder:
    """Every CUDA sync warning raised while recording, each with where it came from."""

    def __init__(self) -> None:
        self.total = 0
        self.ours: Counter[str] = Counter()  # phase -> syncs raised from trackboard code
        self.where: Counter[str] = Counter()  # "file:line function" of trackboard syncs

    def __call__(self, message, category, filename, lineno, file=None, line=None) -> None:
        if "synchroniz" not in str(message):
            return
        self.total += 1
        stack = traceback.extract_stack()
        ours = [frame for frame in stack if str(Path(frame.filename).resolve()).startswith(TRACKBOARD_DIRS)]
        if ours:
            phase = "steps" if any(frame.name in PER_STEP_HOOKS for frame in stack) else "other"
            self.ours[phase] += 1
            frame = ours[-1]
            self.where[f"{Path(frame.filename).name}:{frame.lineno} {frame.name}"] += 1


@contextmanager
def recording_syncs() -> Iterator[SyncRecorder]:
    recorder = SyncRecorder()
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # every sync, not one per code location
        warnings.showwarning = recorder
        torch.cuda.set_sync_debug_mode("warn")
        try:
            yield recorder
        finally:
            torch.cuda.set_sync_debug_mode("default")


# name -> fit(client, tracking, steps): batches of 8, one epoch, on the GPU
FITS: dict[str, Callable[[Client | None, str, int], tuple[float, int]]] = {
    "Lightning": lambda client, tracking, steps: lightning_fit(client, tracking, samples=steps * 8, batch=8),
    "Hugging Face": lambda client, tracking, steps: transformers_fit(client, tracking, samples=steps * 8, batch=8),
    "Keras 3 (torch)": lambda client, tracking, steps: keras_fit(client, tracking, samples=steps * 8, batch=8),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="optimizer steps a fit (default 200)")
    parser.add_argument("--only", choices=list(FITS), action="append", help="these frameworks only")
    options = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: this check needs an NVIDIA GPU", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore")  # the frameworks' chatter; sync warnings are recorded apart
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

    header = ("framework", "steps", "syncs, no logger", "syncs, no-op logger", "syncs, trackboard",
              "trackboard's own: per-step hooks", "trackboard's own: other hooks")
    rows, failures, where = [], 0, Counter()
    with tempfile.TemporaryDirectory() as directory:
        client = Client(directory=directory)
        for name, fit in FITS.items():
            if options.only and name not in options.only:
                continue
            print(f"... {name}", file=sys.stderr, flush=True)
            fit(client, "trackboard", 8)  # warm-up: imports, CUDA context, kernels
            counts = {}
            for kind in TRACKING:
                with recording_syncs() as recorder:
                    _, steps = fit(client, kind, options.steps)
                    if kind == "trackboard":
                        client.flush()
                counts[kind] = recorder
            ours = counts["trackboard"].ours
            where.update({f"{name}: {place}": n for place, n in counts["trackboard"].where.items()})
            failures += ours["steps"] > 0
            rows.append((name, str(steps), *(str(counts[kind].total) for kind in TRACKING),
                         str(ours["steps"]), str(ours["other"])))
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}; per-step logging on; "
          "syncs counted with torch.cuda.set_sync_debug_mode('warn')")
    print_grid(header, rows)
    for place, n in sorted(where.items()):
        print(f"  trackboard sync: {place} x{n}")
    print("ok: no sync from trackboard in per-step hooks" if not failures
          else f"NO: trackboard syncs in per-step hooks in {failures} framework(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
