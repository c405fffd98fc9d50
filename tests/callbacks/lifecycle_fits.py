"""Tiny fits that fail on purpose, for the run-lifecycle tests (in-process or as a script).

``python lifecycle_fits.py FRAMEWORK MODE STORE``: MODE ``raise`` fails at step 8, ``wait``
prints READY after step 5 and then trains slowly until a signal ends it.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from trackboard import Client  # noqa: E402

FAIL_AT, READY_AT = 8, 5


class Boom(RuntimeError):
    pass


def _on_step(step: int, fail_at: int | None, slow: bool) -> None:
    if fail_at is not None and step >= fail_at:
        raise Boom(f"failing at step {step}")
    if step == READY_AT and slow:
        print("READY", flush=True)
    if slow and step >= READY_AT:
        time.sleep(0.05)


def data(n: int = 48, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, ((x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5)).astype("int64")


def keras_fit(client: Client, name: str, fail_at: int | None = None, slow: bool = False, epochs: int = 3) -> None:
    import keras

    from trackboard.callbacks.keras import TrackboardCallback

    class Steps(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            _on_step(int(self.model.optimizer.iterations.numpy()), fail_at, slow)

    keras.utils.set_random_seed(0)
    x, y = data()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=8, epochs=1000 if slow else epochs, verbose=0,
              callbacks=[TrackboardCallback(project="p", experiment=name, client=client, log_every_n_steps=1), Steps()])


def tiny_lightning_module(on_step=None):
    """A linear 4 -> 3 classifier; ``on_step(global_step)`` runs at the start of each training step."""
    import lightning.pytorch as L

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(4, 3)

        def training_step(self, batch, _):
            if on_step is not None:
                on_step(self.global_step)
            loss = torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1])
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    return Module()


def tiny_loader():
    """Batches of 8 of ``data()``."""
    from torch.utils.data import DataLoader, TensorDataset

    x, y = data()
    return DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=8)


def lightning_fit(client: Client, name: str, fail_at: int | None = None, slow: bool = False, epochs: int = 3) -> None:
    import lightning.pytorch as L

    from trackboard.callbacks.lightning import TrackboardLogger

    logger = TrackboardLogger(project="p", experiment=name, client=client, save_dir=os.environ.get("TMPDIR", "/tmp"))
    trainer = L.Trainer(max_epochs=1000 if slow else epochs, logger=logger, log_every_n_steps=1,
                        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    trainer.fit(tiny_lightning_module(lambda step: _on_step(step, fail_at, slow)), tiny_loader())


def token_dataset(n: int, seed: int = 0):
    """``n`` random 6-token sequences over a 50-token vocabulary, labelled by their first token."""

    class Tokens(torch.utils.data.Dataset):
        def __init__(self):
            generator = torch.Generator().manual_seed(seed)
            self.ids = torch.randint(0, 50, (n, 6), generator=generator)

        def __len__(self):
            return len(self.ids)

        def __getitem__(self, i):
            return {"input_ids": self.ids[i], "labels": (self.ids[i, 0] >= 25).long()}

    return Tokens()


def tiny_bert():
    """A one-layer BERT classifier built from a config (nothing is downloaded), seeded."""
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=8, id2label={0: "neg", 1: "pos"},
                        label2id={"neg": 0, "pos": 1})
    return BertForSequenceClassification(config)


def transformers_fit(client: Client, name: str, fail_at: int | None = None, slow: bool = False,
                     epochs: int = 3) -> None:
    import tempfile

    from transformers import Trainer, TrainerCallback, TrainingArguments

    from trackboard.callbacks.transformers import TrackboardCallback

    class Steps(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            _on_step(state.global_step, fail_at, slow)

    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(out, per_device_train_batch_size=8, num_train_epochs=1000 if slow else epochs,
                                 logging_steps=1, save_strategy="no", report_to="none", use_cpu=True,
                                 disable_tqdm=True, seed=0)
        trainer = Trainer(tiny_bert(), args, train_dataset=token_dataset(48),
                          callbacks=[TrackboardCallback(project="p", experiment=name, client=client,
                                                        confusion_matrix=False), Steps()])
        trainer.train()


FITS = {"keras": keras_fit, "lightning": lightning_fit, "transformers": transformers_fit}

if __name__ == "__main__":
    framework, mode, store = sys.argv[1:4]
    FITS[framework](Client(directory=store), "run", fail_at=FAIL_AT if mode == "raise" else None, slow=mode == "wait")
