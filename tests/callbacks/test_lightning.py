"""TrackboardLogger and ConfusionMatrixCallback on real (tiny) Lightning fits."""

from __future__ import annotations

import enum
import pickle
import threading
import time
import warnings
from argparse import Namespace
from pathlib import Path

import lightning.pytorch as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

from trackboard import Client, NotFoundError
from trackboard.callbacks.lightning import ConfusionMatrixCallback, TrackboardLogger

from cbhelpers import RecordingExperiment, all_experiments, only_experiment, tracking_warnings

CLASSES = ["cat", "dog", "bird"]
N_TRAIN, N_VAL, BATCH = 32, 24, 8


class Mode(enum.Enum):
    FAST = "fast"


class ClassifierSteps:
    """A tiny 3-class classifier; mixed into either package's LightningModule below."""

    def __init__(self, lr: float = 0.1, hidden: int = 8, fail_at_step: int | None = None, **extra):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 3))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        if self.hparams.fail_at_step is not None and self.global_step >= self.hparams.fail_at_step:
            raise RuntimeError("boom")
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
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


class Classifier(ClassifierSteps, L.LightningModule):
    pass


class Data(L.LightningDataModule):
    def __init__(self, batch_size: int = BATCH, root: str = "/data/toy"):
        super().__init__()
        self.save_hyperparameters()
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(N_TRAIN + N_VAL, 4, generator=generator)
        y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
        self.train, self.val = TensorDataset(x[:N_TRAIN], y[:N_TRAIN]), TensorDataset(x[N_TRAIN:], y[N_TRAIN:])

    def train_dataloader(self):
        return DataLoader(self.train, batch_size=self.hparams.batch_size)

    def val_dataloader(self):
        return DataLoader(self.val, batch_size=self.hparams.batch_size)


def fit(logger, tmp_path, *, callbacks=(), module=None, ckpt_path=None, trainer_cls=L.Trainer, **trainer_args):
    trainer = trainer_cls(
        max_epochs=trainer_args.pop("max_epochs", 2),
        logger=logger,
        callbacks=list(callbacks),
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        default_root_dir=tmp_path,
        enable_checkpointing=trainer_args.pop("enable_checkpointing", False),
        **trainer_args,
    )
    trainer.fit(module or Classifier(), datamodule=Data(), ckpt_path=ckpt_path)
    return trainer


def test_points_sit_at_optimizer_steps_under_gradient_accumulation(client, tmp_path):
    logger = TrackboardLogger(project="p", client=client)
    fit(logger, tmp_path, accumulate_grad_batches=2, callbacks=[LearningRateMonitor("step")])

    experiment = only_experiment(client)
    loss = experiment.get_log("train_loss").data
    # 4 batches an epoch, 2 per optimizer step: 2 steps an epoch, not 4.
    assert loss["steps"] == [0, 1, 2, 3]
    assert loss["epochs"] == [0, 0, 1, 1]
    # LearningRateMonitor logs every batch: the repeated steps are kept, never dropped.
    assert experiment.get_log("lr-SGD").data["steps"] == [0, 0, 1, 1, 2, 2, 3, 3]
    # Validation lines up with the training step it follows.
    assert experiment.get_log("val_loss").data["steps"] == [1, 3]
    assert experiment.get_log("val_loss").data["epochs"] == [0, 1]
    assert "epoch" not in {log.name for log in experiment.list_logs()}  # a point attribute, not a curve
    assert experiment.status == "SUCCESS"


def test_hyperparameters_of_module_and_datamodule_are_one_lossless_table(client, tmp_path):
    nested = {"schedule": {"warmup": 3, "decay": [0.5, 0.25]}}
    module = Classifier(lr=0.05, mode=Mode.FAST, dtype=torch.bfloat16, act=torch.relu, path=Path("/data/x"),
                        ns=Namespace(a=1), long="x" * 5000, **nested)
    fit(TrackboardLogger(project="p", client=client), tmp_path, module=module, max_epochs=1)

    parameters = only_experiment(client).get_log("parameters").data
    assert parameters["lr"] == 0.05 and parameters["hidden"] == 8
    assert parameters["batch_size"] == BATCH and parameters["root"] == "/data/toy"  # the datamodule's
    assert parameters["mode"] == "fast" and parameters["path"] == "/data/x"
    assert parameters["dtype"] == "torch.bfloat16"
    assert parameters["act"] == "torch.relu"
    assert parameters["ns"] == {"a": 1}
    assert parameters["long"] == "x" * 5000  # never truncated
    assert parameters["schedule"] == {"warmup": 3, "decay": [0.5, 0.25]}


def test_logger_as_callback_adds_trainer_and_optimizer_settings(client, tmp_path):
    logger = TrackboardLogger(project="p", client=client)
    from lightning.pytorch.callbacks import EarlyStopping

    stopping = EarlyStopping("val_loss", patience=3, mode="min")
    checkpoints = ModelCheckpoint(monitor="val_acc", mode="max", save_top_k=2, dirpath=tmp_path / "ckpt")
    fit(logger, tmp_path, callbacks=[logger, stopping, checkpoints], accumulate_grad_batches=2, max_epochs=1,
        val_check_interval=0.5, enable_checkpointing=True)

    parameters = only_experiment(client).get_log("parameters").data
    assert parameters["trainer"]["accumulate_grad_batches"] == 2
    assert parameters["trainer"]["val_check_interval"] == 0.5 and parameters["trainer"]["log_every_n_steps"] == 1
    assert parameters["callbacks"]["EarlyStopping"] == pytest.approx(
        {**parameters["callbacks"]["EarlyStopping"], "monitor": "val_loss", "mode": "min", "patience": 3})
    assert parameters["callbacks"]["ModelCheckpoint"]["monitor"] == "val_acc"
    assert parameters["callbacks"]["ModelCheckpoint"]["save_top_k"] == 2
    assert parameters["optimizers"] == [pytest.approx({**parameters["optimizers"][0], "class": "SGD", "lr": 0.1})]
    assert parameters["lr"] == 0.1  # the module's hyperparameters are still there


def test_confusion_matrix_over_the_validation_set(client, tmp_path):
    logger = TrackboardLogger(project="p", client=client)
    fit(logger, tmp_path, callbacks=[ConfusionMatrixCallback(class_names=CLASSES)])

    experiment = only_experiment(client)
    heatmap = experiment.get_log("confusion_matrix").data
    assert heatmap["categories"] == CLASSES
    assert len(heatmap["values"]) == 3 and all(len(row) == 3 for row in heatmap["values"])
    assert sum(map(sum, heatmap["values"])) == N_VAL  # every validation sample, once
    assert experiment.get_log("labelmap").data == {"0": "cat", "1": "dog", "2": "bird"}
    evaluation = experiment.get_log("evaluation").data
    correct = sum(heatmap["values"][i][i] for i in range(3))
    assert evaluation["metrics"]["accuracy"] == pytest.approx(correct / N_VAL)
    assert evaluation["metrics"]["val_acc"] == pytest.approx(correct / N_VAL, abs=1e-6)  # Lightning's own
    assert set(evaluation["per_class"]) == set(CLASSES)
    assert evaluation["samples"] and evaluation["samples"][0].keys() >= {"ground_truth", "prediction", "score"}


def test_confusion_matrix_with_predict_fn_for_dict_batches(client, tmp_path):
    class DictBatches(Classifier):
        def validation_step(self, batch, batch_idx):
            self.log("val_loss", torch.nn.functional.cross_entropy(self(batch["features"]), batch["target"]))

    def predict(module, batch):
        return batch["target"], module(batch["features"])

    val = DataLoader([{"features": x, "target": y} for x, y in Data().val], batch_size=BATCH)
    trainer = L.Trainer(max_epochs=1, logger=TrackboardLogger(project="p", client=client),
                        callbacks=[ConfusionMatrixCallback(predict_fn=predict)], enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path, enable_checkpointing=False)
    trainer.fit(DictBatches(), train_dataloaders=Data().train_dataloader(), val_dataloaders=val)
    heatmap = only_experiment(client).get_log("confusion_matrix").data
    assert heatmap["categories"] == ["0", "1", "2"]
    assert sum(map(sum, heatmap["values"])) == N_VAL


def test_failed_fit_sets_failed_status(client, tmp_path):
    logger = TrackboardLogger(project="p", client=client)
    with pytest.raises(RuntimeError, match="boom"):
        fit(logger, tmp_path, module=Classifier(fail_at_step=2))
    experiment = only_experiment(client)
    assert experiment.status == "FAILED"
    assert experiment.get_log("train_loss").data["steps"] == [0, 1]  # what was logged before is kept


def test_nothing_is_logged_on_other_ranks(client, tmp_path, monkeypatch):
    from lightning_utilities.core.rank_zero import rank_zero_only

    monkeypatch.setattr(rank_zero_only, "rank", 1)
    logger = TrackboardLogger(project="p", client=client)
    fit(logger, tmp_path, callbacks=[logger, ConfusionMatrixCallback()], max_epochs=1)
    assert client.list_projects() == []  # not even an experiment was created


def test_a_broken_store_is_one_warning_and_training_finishes(broken_store_env, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = fit(TrackboardLogger(project="p"), tmp_path, callbacks=[ConfusionMatrixCallback()])
    assert trainer.state.finished and trainer.global_step == 8
    messages = tracking_warnings(caught)
    assert len(messages) == 1, messages
    assert "could not" in messages[0]


def test_a_store_failing_mid_run_is_a_warning_not_an_exception(unwritable_store, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = fit(TrackboardLogger(project="p", client=unwritable_store), tmp_path)
    assert trainer.state.finished and trainer.global_step == 8
    assert any("No space left" in message for message in tracking_warnings(caught))


def test_bad_metric_values_are_skipped_with_a_warning(client, tmp_path):
    logger = TrackboardLogger(project="p", client=client)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logger.log_metrics({"ok": 1.0, "text": "not a number"}, step=0)
        logger.log_metrics({"ok": 2.0, "text": "again"}, step=1)
        logger.finalize("success")
    assert only_experiment(client).get_log("ok").data["values"] == [1.0, 2.0]
    assert len(tracking_warnings(caught)) == 1


def test_pickles_before_and_after_use_and_keeps_logging_to_the_same_experiment(client, tmp_path):
    logger = TrackboardLogger(project="p", client=client)
    clone = pickle.loads(pickle.dumps(logger))  # as DDP spawn does before training
    assert clone.version == logger.version
    fit(logger, tmp_path, max_epochs=1)
    clone.log_metrics({"after": 1.0}, step=100)
    clone.finalize("success")
    experiment = only_experiment(client)
    assert experiment.get_log("after").data["steps"] == [100]
    again = pickle.loads(pickle.dumps(logger))  # with an opened experiment
    again.log_metrics({"again": 2.0}, step=101)
    again.finalize("success")
    assert experiment.get_log("again").data["values"] == [2.0]


def test_resuming_from_a_checkpoint_continues_the_experiment(client, tmp_path):
    first = TrackboardLogger(project="p", client=client)
    checkpoints = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    fit(first, tmp_path, callbacks=[first, checkpoints], max_epochs=1, enable_checkpointing=True)

    second = TrackboardLogger(project="p", client=client)  # a fresh name: the checkpoint decides
    fit(second, tmp_path, callbacks=[second, ModelCheckpoint(dirpath=tmp_path / "ckpt")], max_epochs=2,
        ckpt_path=str(tmp_path / "ckpt" / "last.ckpt"), enable_checkpointing=True)

    experiment = only_experiment(client)
    assert experiment.name == first.version and second.version == first.version
    assert experiment.get_log("train_loss").data["steps"] == [0, 1, 2, 3, 4, 5, 6, 7]
    assert experiment.status == "SUCCESS"


def test_passing_the_same_experiment_name_continues_it(client, tmp_path):
    fit(TrackboardLogger(project="p", experiment="run-1", client=client), tmp_path, max_epochs=1)
    fit(TrackboardLogger(project="p", experiment="run-1", client=client), tmp_path, max_epochs=1)
    steps = only_experiment(client).get_log("train_loss").data["steps"]
    assert steps == [0, 1, 2, 3, 0, 1, 2, 3]  # a new run's steps start again: kept, not dropped


def test_env_variables_choose_project_and_experiment(store_env, monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKBOARD_PROJECT", "from-env")
    monkeypatch.setenv("TRACKBOARD_EXPERIMENT", "exp-env")
    logger = TrackboardLogger()
    assert (logger.name, logger.version) == ("from-env", "exp-env")
    fit(logger, tmp_path, max_epochs=1)
    experiment = only_experiment(Client(directory=store_env))
    assert (experiment.project.name, experiment.name) == ("from-env", "exp-env")


def test_the_experiment_is_created_on_first_use_not_before(client, tmp_path):
    logger = TrackboardLogger(project="p", client=client)
    assert repr(logger.experiment).endswith("not opened yet)")
    assert client.list_projects() == []
    logger.experiment.log("note", "created now", "VALUE")
    assert only_experiment(client).get_log("note").data == "created now"


def test_a_foreign_experiment_object_gets_the_records(tmp_path):
    foreign = RecordingExperiment()
    logger = TrackboardLogger(experiment=foreign)
    fit(logger, tmp_path, accumulate_grad_batches=2, callbacks=[ConfusionMatrixCallback(class_names=CLASSES)])
    assert foreign.points("train_loss")["steps"] == [0, 1, 2, 3]
    assert foreign.points("train_loss")["epochs"] == [0, 0, 1, 1]
    assert foreign.last("parameters")["lr"] == 0.1
    assert foreign.last("confusion_matrix")["categories"] == CLASSES
    assert {"labelmap", "evaluation"} <= foreign.names()


def test_log_model_all_stores_every_checkpoint_and_deletes_nothing(client, tmp_path):
    logger = TrackboardLogger(project="p", client=client, log_model="all")
    fit(logger, tmp_path, callbacks=[ModelCheckpoint(dirpath=tmp_path / "ckpt", save_top_k=-1)],
        enable_checkpointing=True)
    on_disk = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    stored = sorted(a.name for a in only_experiment(client).list_artifacts())
    assert on_disk == ["epoch=0-step=4.ckpt", "epoch=1-step=8.ckpt"]
    assert stored == on_disk


def test_log_model_true_stores_best_and_last_at_the_end(client, tmp_path):
    logger = TrackboardLogger(project="p", client=client, log_model=True)
    fit(logger, tmp_path, callbacks=[ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val_loss", save_last=True)],
        enable_checkpointing=True)
    stored = {a.name for a in only_experiment(client).list_artifacts()}
    assert {"last.ckpt", "best.ckpt"} <= stored and len(stored) == 3


def test_works_with_the_pytorch_lightning_package(client, tmp_path):
    import pytorch_lightning as pl

    logger = TrackboardLogger(project="p", client=client)
    trainer = pl.Trainer(max_epochs=1, logger=logger, callbacks=[logger, ConfusionMatrixCallback()],
                         enable_progress_bar=False, enable_model_summary=False, log_every_n_steps=1,
                         default_root_dir=tmp_path, enable_checkpointing=False)
    data = Data()
    class StandaloneClassifier(ClassifierSteps, pl.LightningModule):
        pass

    trainer.fit(StandaloneClassifier(), DataLoader(data.train, batch_size=BATCH),
                DataLoader(data.val, batch_size=BATCH))
    experiment = only_experiment(client)
    assert experiment.get_log("train_loss").data["steps"] == [0, 1, 2, 3]
    assert sum(map(sum, experiment.get_log("confusion_matrix").data["values"])) == N_VAL


def test_test_metrics_after_fit_land_in_the_same_experiment(client, tmp_path):
    class WithTest(Classifier):
        def test_step(self, batch, batch_idx):
            x, y = batch
            self.log("test_acc", (self(x).argmax(-1) == y).float().mean())

    logger = TrackboardLogger(project="p", client=client)
    trainer = fit(logger, tmp_path, module=WithTest(), max_epochs=1)
    trainer.test(trainer.lightning_module, dataloaders=Data().val_dataloader(), verbose=False)
    assert len(all_experiments(client)) == 1
    assert only_experiment(client).get_log("test_acc").data["steps"] == [4]


def test_ddp_spawn_logs_once_from_rank_zero_with_counts_from_every_rank(client, tmp_path):
    # Two real processes (gloo on the CPU): the logger and the callback are pickled into both,
    # only rank zero writes, and the confusion matrix sums both halves of the validation set.
    logger = TrackboardLogger(project="p", client=client)
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", devices=2, strategy="ddp_spawn", logger=logger,
                        callbacks=[ConfusionMatrixCallback()], enable_progress_bar=False,
                        enable_model_summary=False, log_every_n_steps=1, default_root_dir=tmp_path,
                        enable_checkpointing=False)
    trainer.fit(Classifier(), datamodule=Data())

    experiment = only_experiment(client)  # one experiment, named in the parent before spawning
    assert experiment.name == logger.version
    assert experiment.get_log("train_loss").data["steps"] == [0, 1]  # 32 samples / 2 ranks / 8
    assert sum(map(sum, experiment.get_log("confusion_matrix").data["values"])) == N_VAL
    assert experiment.status == "SUCCESS"


class OddData(Data):
    """23 validation samples: DistributedSampler pads two shards of 12 by repeating one."""

    def __init__(self):
        super().__init__()
        x, y = self.val.tensors
        self.val = TensorDataset(x[:23], y[:23])


def test_ddp_spawn_counts_each_validation_sample_once_by_dataset_index(client, tmp_path):
    logger = TrackboardLogger(project="p", client=client)
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", devices=2, strategy="ddp_spawn", logger=logger,
                        callbacks=[ConfusionMatrixCallback(max_samples=50)], enable_progress_bar=False,
                        enable_model_summary=False, log_every_n_steps=1, default_root_dir=tmp_path,
                        enable_checkpointing=False)
    trainer.fit(Classifier(), datamodule=OddData())

    experiment = only_experiment(client)
    assert sum(map(sum, experiment.get_log("confusion_matrix").data["values"])) == 23  # not 24
    ids = sorted(sample["id"] for sample in experiment.get_log("evaluation").data["samples"])
    assert ids == list(range(23))  # dataset indices, each once, not positions in rank 0's shard
    assert experiment.status == "SUCCESS"
    assert logger.experiment.name == experiment.name  # the parent reads the finished experiment...
    assert experiment.status == "SUCCESS"  # ...and reading changes nothing


class SlowSteps(Classifier):
    def training_step(self, batch, batch_idx):
        time.sleep(0.08)  # a step of real work: the fit lasts a few seconds
        return super().training_step(batch, batch_idx)


def test_a_trackboard_experiments_points_are_visible_within_a_quarter_second_during_fit(client, store_dir, tmp_path):
    """The adapters' buffer waits NATIVE_MAX_AGE_S (0.25 s) for a trackboard experiment: a reader
    sees each training point a fraction of a second after its step, while the fit still runs
    (a foreign experiment keeps the 2-second buffer: one request a metric every 2 s)."""
    from trackboard.callbacks._lines import FOREIGN_MAX_AGE_S, NATIVE_MAX_AGE_S
    from trackboard.callbacks._run import TrackedRun
    from trackboard.store.sql import Store

    assert TrackedRun("p", RecordingExperiment(), None, framework="test")._lines.max_age == FOREIGN_MAX_AGE_S == 2.0
    assert TrackedRun("p", None, client, framework="test")._lines.max_age == NATIVE_MAX_AGE_S == 0.25

    lags, done = [], threading.Event()

    def watch():  # a second reader of the store, as the dashboard is
        store, seen, experiment_id = Store.at_directory(store_dir), 0, None
        try:
            while not done.is_set():
                time.sleep(0.02)
                try:
                    experiment_id = experiment_id or only_experiment(Client(directory=store_dir)).id
                    points = store.get_points(experiment_id, "train_loss")[""]
                except (AssertionError, NotFoundError):
                    continue
                now = time.time()
                lags.extend(now - points.times[seen:])
                seen = len(points)
        finally:
            store.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        trainer = L.Trainer(max_epochs=1, logger=TrackboardLogger(project="p", client=client), limit_val_batches=0,
                            enable_progress_bar=False, enable_model_summary=False, log_every_n_steps=1,
                            default_root_dir=tmp_path, enable_checkpointing=False)
        trainer.fit(SlowSteps(), datamodule=Data(batch_size=1))
    finally:
        done.set()
        watcher.join()
    # 32 steps of >= 80 ms; all but the points flushed at the end of the epoch were seen mid-fit.
    assert len(lags) >= 24, lags
    assert float(np.median(lags)) <= 0.6, sorted(lags)  # with a 2 s buffer: about 1 s
