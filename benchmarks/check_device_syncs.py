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


def lightning_fit(client: Client | None, steps: int, logger_kind: str) -> int:
    import lightning.pytorch as L
    from torch.utils.data import DataLoader, TensorDataset

    from trackboard.callbacks.lightning import ConfusionMatrixCallback, TrackboardLogger

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, _):
            loss = torch.nn.functional.cross_entropy(self(batch[0]), batch[1])
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, _):
            self.log("val_loss", torch.nn.functional.cross_entropy(self(batch[0]), batch[1]))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

    class NoopLogger(L.loggers.Logger):
        name, version = "noop", "0"

        def log_metrics(self, metrics, step=None):
            pass

        def log_hyperparams(self, params, *args, **kwargs):
            pass

    x = torch.randn(steps * 8, 8)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    train = DataLoader(TensorDataset(x, y), batch_size=8)
    val = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=16)
    logger, callbacks = {"none": (False, []), "no-op": (NoopLogger(), []),
                         "trackboard": (TrackboardLogger(project="syncs", client=client),
                                        [ConfusionMatrixCallback()])}[logger_kind]
    with tempfile.TemporaryDirectory() as root:
        trainer = L.Trainer(accelerator="auto", devices=1, max_epochs=1, logger=logger, callbacks=callbacks,
                            log_every_n_steps=1, enable_progress_bar=False, enable_model_summary=False,
                            enable_checkpointing=False, default_root_dir=root)
        trainer.fit(Module(), train, val)
        return trainer.global_step


class _Tokens(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        self.ids = torch.randint(0, 100, (n, 8))
        self.labels = (self.ids[:, 0] >= 50).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def transformers_fit(client: Client | None, steps: int, logger_kind: str) -> int:
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback, TrainerCallback

    from trackboard.callbacks.transformers import TrackboardCallback

    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=16, id2label={0: "neg", 1: "pos"},
                        label2id={"neg": 0, "pos": 1})
    callbacks = {"none": [], "no-op": [TrainerCallback()],
                 "trackboard": [TrackboardCallback(project="syncs", client=client)]}[logger_kind]
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(out, per_device_train_batch_size=8, num_train_epochs=1, logging_steps=1,
                                 eval_strategy="epoch", save_strategy="no", report_to="none", disable_tqdm=True)
        trainer = Trainer(BertForSequenceClassification(config), args, train_dataset=_Tokens(steps * 8),
                          eval_dataset=_Tokens(64), callbacks=callbacks)
        trainer.remove_callback(PrinterCallback)
        trainer.train()
        return trainer.state.global_step


def keras_fit(client: Client | None, steps: int, logger_kind: str) -> int:
    import keras

    from trackboard.callbacks.keras import TrackboardCallback

    x = torch.randn(steps * 8, 8).numpy()
    y = ((x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5))
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    callbacks = {"none": [], "no-op": [keras.callbacks.Callback()],
                 "trackboard": [TrackboardCallback(project="syncs", client=client, validation_data=(x[:64], y[:64]),
                                                   log_every_n_steps=1)]}[logger_kind]
    model.fit(x, y, batch_size=8, epochs=1, validation_data=(x[:64], y[:64]), verbose=0, callbacks=callbacks)
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


FITS: dict[str, Callable[[Client | None, int, str], int]] = {
    "Lightning": lightning_fit,
    "Hugging Face": transformers_fit,
    "Keras 3 (torch)": keras_fit,
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
    import logging

    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

    header = ("framework", "steps", "syncs, no logger", "syncs, no-op logger", "syncs, trackboard",
              "trackboard's own: per-step hooks", "trackboard's own: other hooks")
    rows, failures, where = [header], 0, Counter()
    with tempfile.TemporaryDirectory() as directory:
        client = Client(directory=directory)
        for name, fit in FITS.items():
            if options.only and name not in options.only:
                continue
            print(f"... {name}", file=sys.stderr, flush=True)
            fit(client, 8, "trackboard")  # warm-up: imports, CUDA context, kernels
            counts = {}
            for kind in ("none", "no-op", "trackboard"):
                with recording_syncs() as recorder:
                    steps = fit(client, options.steps, kind)
                    if kind == "trackboard":
                        client.flush()
                counts[kind] = recorder
            ours = counts["trackboard"].ours
            where.update({f"{name}: {place}": n for place, n in counts["trackboard"].where.items()})
            failures += ours["steps"] > 0
            rows.append((name, str(steps), *(str(counts[k].total) for k in ("none", "no-op", "trackboard")),
                         str(ours["steps"]), str(ours["other"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}; per-step logging on; "
          "syncs counted with torch.cuda.set_sync_debug_mode('warn')")
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * width for width in widths))
    for place, n in sorted(where.items()):
        print(f"  trackboard sync: {place} x{n}")
    print("ok: no sync from trackboard in per-step hooks" if not failures
          else f"NO: trackboard syncs in per-step hooks in {failures} framework(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
