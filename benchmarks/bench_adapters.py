"""What each framework adapter costs a training run; prints one table.

    python benchmarks/bench_adapters.py              # about 4 minutes on 2 CPU cores
    python benchmarks/bench_adapters.py --repeats 3  # quicker, noisier

For each framework the same tiny classifier fit runs with and without the adapter, in this one
process, alternating (with, without, without, with, ...) after a warm-up of each; the table shows
the median wall time of each side and the overhead as the median of paired differences.
Per-step logging is on (Lightning ``log_every_n_steps=1``, Keras ``log_every_n_steps=1``, Hugging
Face ``logging_steps=1``), so the difference is everything the adapter brings: its hooks, the
framework's own work to feed a logger, the final confusion matrix and the final flush to the
embedded SQLite store. Targets: at most 3 % of the fit's wall time and 30 us per optimizer step.

"(Lightning, a no-op Logger)" is a reference, not an adapter: the same fit with a Logger that does
nothing, i.e. what Lightning itself spends feeding any logger (included in the Lightning row).
"cpu overhead" compares CPU time of this process (all its threads, the store's writer included)
and "best-of overhead" the fastest fit of each side: both move less with other work on a shared
machine. "hook alone" is the adapter's per-step hook called in a tight loop with the metrics the
framework passes it (median over blocks of calls, flushes to the store included); inside a real
training loop the same call costs about twice as much (colder caches).

Everything runs on the CPU; ``check_device_syncs.py`` counts device syncs on a GPU.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

os.environ.setdefault("KERAS_BACKEND", "torch")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from trackboard import Client  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
N_TRAIN, N_VAL, BATCH, EPOCHS = 4096, 64, 4, 2  # 2048 optimizer steps a fit (1024 for Hugging Face: 1 epoch)
HOOK_CALLS = 20_000


def quiet_frameworks() -> None:
    import logging

    import lightning.pytorch  # noqa: F401 - so that its loggers exist and can be silenced
    import transformers  # noqa: F401

    for name in list(logging.root.manager.loggerDict):
        if name.startswith(("lightning", "pytorch_lightning", "transformers")):
            logging.getLogger(name).setLevel(logging.ERROR)
    torch.set_num_threads(1)  # steadier timings; both sides run the same way


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, ((x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5))


# -- one fit per framework, with or without its adapter ---------------------------------------------


def lightning_fit(client: Client | None, noop_logger: bool = False) -> tuple[float, int]:
    import lightning.pytorch as L
    from torch.utils.data import DataLoader, TensorDataset

    from trackboard.callbacks.lightning import ConfusionMatrixCallback, TrackboardLogger

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))

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

    torch.manual_seed(0)
    (x, y), (xv, yv) = synthetic(N_TRAIN, 0), synthetic(N_VAL, 1)
    train = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=BATCH)
    val = DataLoader(TensorDataset(torch.from_numpy(xv), torch.from_numpy(yv)), batch_size=16)
    class NoopLogger(L.loggers.Logger):
        name, version = "noop", "0"

        def log_metrics(self, metrics, step=None):
            pass

        def log_hyperparams(self, params, *args, **kwargs):
            pass

    if noop_logger:  # what Lightning itself spends feeding any logger, for reference
        logger, callbacks = (NoopLogger() if client else False), []
    else:
        logger = TrackboardLogger(project="bench", client=client) if client else False
        callbacks = [ConfusionMatrixCallback()] if client else []
    with tempfile.TemporaryDirectory() as root:
        trainer = L.Trainer(max_epochs=EPOCHS, logger=logger, callbacks=callbacks, log_every_n_steps=1,
                            enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                            default_root_dir=root)
        module = Module()
        start = time.perf_counter()
        trainer.fit(module, train, val)
        return time.perf_counter() - start, trainer.global_step


def keras_fit(client: Client | None) -> tuple[float, int]:
    import keras

    from trackboard.callbacks.keras import TrackboardCallback

    keras.utils.set_random_seed(0)
    (x, y), (xv, yv) = synthetic(N_TRAIN, 0), synthetic(N_VAL, 1)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    callbacks = [TrackboardCallback(project="bench", client=client, validation_data=(xv, yv),
                                    log_every_n_steps=1)] if client else []
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, validation_data=(xv, yv), verbose=0, callbacks=callbacks)
    return time.perf_counter() - start, int(model.optimizer.iterations.numpy())


class _Tokens(torch.utils.data.Dataset):
    def __init__(self, n: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, 100, (n, 8), generator=generator)
        self.labels = (self.ids[:, 0] >= 50).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def transformers_fit(client: Client | None) -> tuple[float, int]:
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    from trackboard.callbacks.transformers import TrackboardCallback

    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16, id2label={0: "neg", 1: "pos"},
                        label2id={"neg": 0, "pos": 1})
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(out, per_device_train_batch_size=BATCH, num_train_epochs=1, logging_steps=1,
                                 eval_strategy="epoch", save_strategy="no", report_to="none", use_cpu=True,
                                 disable_tqdm=True, seed=0)
        callbacks = [TrackboardCallback(project="bench", client=client)] if client else []
        trainer = Trainer(BertForSequenceClassification(config), args, train_dataset=_Tokens(N_TRAIN, 0),
                          eval_dataset=_Tokens(N_VAL, 1), callbacks=callbacks)
        trainer.remove_callback(PrinterCallback)  # printing every log record would dwarf everything else
        start = time.perf_counter()
        trainer.train()
        return time.perf_counter() - start, trainer.state.global_step


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


# -- the table -------------------------------------------------------------------------------------


FRAMEWORKS = {
    "Lightning": (lightning_fit, lightning_hook),
    "(Lightning, a no-op Logger)": (lambda client: lightning_fit(client, noop_logger=True), None),
    "Keras 3 (torch)": (keras_fit, keras_hook),
    "Hugging Face": (transformers_fit, transformers_hook),
}


def measure(fit: Callable, client: Client, repeats: int) -> dict[str, float]:
    """Median wall and CPU time (this process, all threads) of fits with and without the adapter.

    The overhead is the median of paired differences (each with-fit against the without-fit run
    next to it), which cancels most of the drift of a machine shared with other work.
    """
    fit(None), fit(client)  # warm-up: imports, first-call caches, the store's tables
    samples: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    steps = 0
    for repeat in range(repeats):
        for with_adapter in ((True, False) if repeat % 2 == 0 else (False, True)):
            gc.collect()
            cpu = time.process_time()
            seconds, steps = fit(client if with_adapter else None)
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
    parser.add_argument("--only", choices=list(FRAMEWORKS), help="one row")
    options = parser.parse_args()
    quiet_frameworks()

    rows = []
    with tempfile.TemporaryDirectory() as directory:
        client = Client(directory=directory)
        for name, (fit, hook) in FRAMEWORKS.items():
            if options.only and name != options.only:
                continue
            print(f"... {name}", file=sys.stderr, flush=True)
            result = measure(fit, client, options.repeats)
            result["hook"] = hook_cost_us(hook(client)) if hook else float("nan")
            rows.append((name, result))
        client.flush()

    header = ("adapter", "steps", "fit without", "fit with", "overhead", "per step", "cpu overhead", "best-of overhead",
              "hook alone", "ok")
    lines = [header]
    for name, r in rows:
        ok = r["overhead"] <= 3.0 and r["per_step"] <= 30.0 if r["hook"] == r["hook"] else None
        lines.append((name, str(r["steps"]), f"{r['without']:.3f} s", f"{r['with']:.3f} s", f"{r['overhead']:+.2f} %",
                      f"{r['per_step']:+.1f} us", f"{r['cpu_overhead']:+.2f} %", f"{r['best_overhead']:+.2f} %",
                      f"{r['hook']:.2f} us" if ok is not None else "",
                      {True: "yes", False: "NO", None: ""}[ok]))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print(f"median of {options.repeats} fits per side, {torch.get_num_threads()} torch thread(s), "
          f"{os.cpu_count()} CPUs; targets: overhead <= 3 %, <= 30 us per optimizer step")
    for i, line in enumerate(lines):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * width for width in widths))
    print("not measured here: extra device syncs on a GPU (benchmarks/check_device_syncs.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
