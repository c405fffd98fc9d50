"""PyTorch Lightning + trackboard: a sweep of three learning rates of one tiny classifier, on the CPU.

    python examples/lightning_example.py && trackboard ui

Logs to the embedded store (``TRACKBOARD_DIR``, default ``./.trackboard``), project "lightning",
one run per learning rate: per-step ``train_loss`` and the learning rate, per-epoch ``val_loss`` /
``val_acc``, the module and datamodule hyperparameters with the trainer and optimizer settings,
the final confusion matrix, label map and evaluation, the best and last checkpoints, and the
VALUE ``validation_accuracy`` by which the dashboard stars the best run.
"""

from __future__ import annotations

import tempfile

import lightning.pytorch as L
import torch
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

from trackboard.callbacks.lightning import ConfusionMatrixCallback, TrackboardLogger

CLASSES = ["circle", "square", "triangle", "star"]


class Blobs(L.LightningDataModule):
    """Four Gaussian blobs in 2-D, with noise dimensions: an easy four-class problem."""

    def __init__(self, samples: int = 2000, noise_dims: int = 6, batch_size: int = 32) -> None:
        super().__init__()
        self.save_hyperparameters()
        generator = torch.Generator().manual_seed(0)
        centers = torch.tensor([[2.0, 2.0], [-2.0, 2.0], [-2.0, -2.0], [2.0, -2.0]])
        y = torch.randint(0, len(CLASSES), (samples,), generator=generator)
        x = torch.cat([centers[y] + 1.2 * torch.randn(samples, 2, generator=generator),
                       torch.randn(samples, noise_dims, generator=generator)], dim=1)
        split = int(0.8 * samples)
        self.train_set, self.val_set = TensorDataset(x[:split], y[:split]), TensorDataset(x[split:], y[split:])

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.hparams.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=256)


class Classifier(L.LightningModule):
    def __init__(self, inputs: int = 8, hidden: int = 32, lr: float = 0.05, momentum: float = 0.9) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(inputs, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, len(CLASSES)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", torch.nn.functional.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(-1) == y).float().mean())

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=self.hparams.momentum)
        return {"optimizer": optimizer, "lr_scheduler": torch.optim.lr_scheduler.StepLR(optimizer, step_size=2)}


LEARNING_RATES = (0.002, 0.02, 0.2)  # a sweep: too small, fine, too large


def train(lr: float) -> float:
    """One run: a new experiment (named automatically) in project "lightning"; its validation accuracy."""
    L.seed_everything(0, verbose=False)
    # log_model=True stores the best and last checkpoints; passing the logger in callbacks too
    # saves its experiment id in them, so trainer.fit(ckpt_path=...) would continue this run.
    logger = TrackboardLogger(project="lightning", log_model=True)
    with tempfile.TemporaryDirectory() as root:
        trainer = L.Trainer(
            max_epochs=4,
            accumulate_grad_batches=2,  # points stay at optimizer steps: 25 per epoch, not 50
            logger=logger,
            callbacks=[
                logger,
                ConfusionMatrixCallback(class_names=CLASSES),
                LearningRateMonitor(logging_interval="step"),
                ModelCheckpoint(dirpath=root, monitor="val_loss", save_last=True),
            ],
            log_every_n_steps=5,
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=root,
        )
        trainer.fit(Classifier(lr=lr), datamodule=Blobs())
    experiment = logger.experiment
    accuracy = experiment.get_log("evaluation").data["metrics"]["accuracy"]
    experiment.log("validation_accuracy", accuracy, "value")  # the summary value the project page ranks runs by
    print(f"logged to {logger.name}/{logger.version} (lr={lr}): validation accuracy {accuracy:.3f}")
    return accuracy


def main() -> None:
    for lr in LEARNING_RATES:
        train(lr)


if __name__ == "__main__":
    main()
