"""The tiny classifier fits the adapter benchmarks time and inspect, one per framework.

Each fit trains on synthetic data (no download) with per-step logging on (Lightning
``log_every_n_steps=1``, Keras ``log_every_n_steps=1``, Hugging Face ``logging_steps=1``) and
``tracking`` says what watches it:

- ``"none"``: no logger at all;
- ``"no-op"``: a logger or callback that does nothing, i.e. what the framework itself spends
  feeding any logger (Lightning turns logged tensors into numbers before calling a logger);
- ``"trackboard"``: trackboard's adapter, with its final confusion matrix;
- Lightning only, for reference: ``"csv"`` and ``"tensorboard"``, Lightning's own CSVLogger and
  TensorBoardLogger (through tensorboardX where TensorBoard is not installed).

Each returns (seconds in ``fit``, optimizer steps). The scripts in this folder run as
``python benchmarks/X.py``, so this module is imported by its plain name.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Callable

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from trackboard import Client  # noqa: E402

TRACKING = ("none", "no-op", "trackboard")
VALIDATION_SAMPLES = 64

Fit = Callable[..., tuple[float, int]]


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples of 8 features and one of 3 classes."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, ((x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5))


def lightning_fit(client: Client | None, tracking: str, *, samples: int, batch: int, epochs: int = 1,
                  accelerator: str = "auto") -> tuple[float, int]:
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

    class NoopLogger(L.loggers.Logger):
        name, version = "noop", "0"

        def log_metrics(self, metrics, step=None):
            pass

        def log_hyperparams(self, params, *args, **kwargs):
            pass

    torch.manual_seed(0)
    (x, y), (xv, yv) = synthetic(samples, 0), synthetic(VALIDATION_SAMPLES, 1)
    train = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=batch)
    val = DataLoader(TensorDataset(torch.from_numpy(xv), torch.from_numpy(yv)), batch_size=16)
    with tempfile.TemporaryDirectory() as root:
        logger, callbacks = {
            "none": lambda: (False, []),
            "no-op": lambda: (NoopLogger(), []),
            "trackboard": lambda: (TrackboardLogger(project="bench", client=client), [ConfusionMatrixCallback()]),
            # Lightning's own loggers, as references
            "csv": lambda: (L.loggers.CSVLogger(root), []),
            "tensorboard": lambda: (L.loggers.TensorBoardLogger(root), []),
        }[tracking]()
        trainer = L.Trainer(accelerator=accelerator, devices=1, max_epochs=epochs, logger=logger, callbacks=callbacks,
                            log_every_n_steps=1, enable_progress_bar=False, enable_model_summary=False,
                            enable_checkpointing=False, default_root_dir=root)
        module = Module()
        start = time.perf_counter()
        trainer.fit(module, train, val)
        return time.perf_counter() - start, trainer.global_step


def keras_fit(client: Client | None, tracking: str, *, samples: int, batch: int, epochs: int = 1) -> tuple[float, int]:
    import keras

    from trackboard.callbacks.keras import TrackboardCallback

    keras.utils.set_random_seed(0)
    (x, y), (xv, yv) = synthetic(samples, 0), synthetic(VALIDATION_SAMPLES, 1)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    callbacks = {
        "none": lambda: [],
        "no-op": lambda: [keras.callbacks.Callback()],
        "trackboard": lambda: [TrackboardCallback(project="bench", client=client, validation_data=(xv, yv),
                                                  log_every_n_steps=1)],
    }[tracking]()
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=epochs, validation_data=(xv, yv), verbose=0, callbacks=callbacks)
    return time.perf_counter() - start, int(keras.ops.convert_to_numpy(model.optimizer.iterations))


class _Tokens(torch.utils.data.Dataset):
    def __init__(self, n: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, 100, (n, 8), generator=generator)
        self.labels = (self.ids[:, 0] >= 50).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def transformers_fit(client: Client | None, tracking: str, *, samples: int, batch: int, epochs: int = 1,
                     use_cpu: bool = False) -> tuple[float, int]:
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback, TrainerCallback

    from trackboard.callbacks.transformers import TrackboardCallback

    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16, id2label={0: "neg", 1: "pos"},
                        label2id={"neg": 0, "pos": 1})
    callbacks = {
        "none": lambda: [],
        "no-op": lambda: [TrainerCallback()],
        "trackboard": lambda: [TrackboardCallback(project="bench", client=client)],
    }[tracking]()
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(out, per_device_train_batch_size=batch, num_train_epochs=epochs, logging_steps=1,
                                 eval_strategy="epoch", save_strategy="no", report_to="none", use_cpu=use_cpu,
                                 disable_tqdm=True, seed=0)
        trainer = Trainer(BertForSequenceClassification(config), args, train_dataset=_Tokens(samples, 0),
                          eval_dataset=_Tokens(VALIDATION_SAMPLES, 1), callbacks=callbacks)
        trainer.remove_callback(PrinterCallback)  # printing every log record would dwarf everything else
        start = time.perf_counter()
        trainer.train()
        return time.perf_counter() - start, trainer.state.global_step
