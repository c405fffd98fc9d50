"""Runs that go wrong, in all three adapters: real fits, real processes, real signals.

| scenario                          | Keras   | Lightning | Hugging Face |
| --------------------------------- | ------- | --------- | ------------ |
| sweep catches a failing config    | FAILED  | FAILED    | FAILED       |
| uncaught exception                | FAILED  | FAILED    | FAILED       |
| SIGINT (Ctrl-C)                   | FAILED  | FAILED    | FAILED       |
| SIGTERM (``timeout``)             | FAILED  | FAILED    | FAILED       |
| SIGKILL, read by a new process    | CRASHED | CRASHED   | CRASHED      |
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trackboard import Client

from lifecycle_fits import FAIL_AT, FITS, READY_AT, Boom, tiny_lightning_module, tiny_loader

HERE = Path(__file__).parent
FRAMEWORKS = sorted(FITS)
LOSS = {"keras": "loss", "lightning": "train_loss", "transformers": "loss"}


def stored(client: Client, framework: str, name: str = "run") -> tuple[str, list]:
    """(status, steps of the per-step loss) of an experiment the fits logged."""
    experiment = client.get_project("p").get_experiment(name)
    return experiment.status, experiment.get_log(LOSS[framework]).data["steps"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_sweep_that_catches_a_failing_config_records_it_failed_with_its_points(client, framework):
    for name, fail_at in (("bad", FAIL_AT), ("good", None)):
        try:
            FITS[framework](client, name, fail_at=fail_at, epochs=2)
        except Boom:
            continue  # the sweep goes on
    status, steps = stored(client, framework, "bad")
    assert status == "FAILED"
    assert steps and max(steps) >= FAIL_AT - 1  # every point logged before the failure
    assert stored(client, framework, "good")[0] == "SUCCESS"


def run_script(framework, mode, store, *prefix):
    env = {**os.environ, "TRACKBOARD_HEARTBEAT_INTERVAL": "0.5", "PYTHONPATH": str(HERE)}
    return subprocess.Popen([*prefix, sys.executable, str(HERE / "lifecycle_fits.py"), framework, mode, str(store)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def ready(proc):
    for line in proc.stdout:
        if line.strip() == "READY":
            return
    raise AssertionError(proc.stderr.read()[-3000:])


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("how", ["raise", "sigint", "sigterm", "sigkill"])
def test_a_process_that_dies_ends_in_a_true_status(store_dir, framework, how):
    if how == "raise":
        proc = run_script(framework, "raise", store_dir)
        _, err = proc.communicate(timeout=240)
        assert proc.returncode != 0 and "Boom" in err
    else:
        proc = run_script(framework, "wait", store_dir)
        ready(proc)
        if how == "sigkill":
            time.sleep(2.5)  # points reach the store every 2 s; a killed process loses what it still buffers
        proc.send_signal({"sigint": signal.SIGINT, "sigterm": signal.SIGTERM, "sigkill": signal.SIGKILL}[how])
        proc.communicate(timeout=240)
        if how == "sigterm":
            # The signal ends the program as without trackboard: its default action, or Lightning's own
            # graceful stop (SIGTERMException, a SystemExit without a code: exit status 0).
            assert proc.returncode == (0 if framework == "lightning" else -signal.SIGTERM)
    status, steps = stored(Client(directory=store_dir), framework)
    assert status == ("CRASHED" if how == "sigkill" else "FAILED")
    # Every point logged before the failure (READY is printed before that step's metrics).
    assert steps and max(steps) >= (FAIL_AT - 1 if how == "raise" else READY_AT - 1)


@pytest.mark.parametrize("order", ["trackboard-first", "early-stopping-first"])
def test_keras_matrix_describes_the_restored_best_weights_in_either_callback_order(client, order):
    import keras
    import numpy as np

    from lifecycle_fits import data
    from trackboard.callbacks.keras import TrackboardCallback

    keras.utils.set_random_seed(0)
    x, y = data()
    xv, yv = data(20, 1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy", metrics=["accuracy"])
    tracking = TrackboardCallback(project="p", experiment="best", client=client, validation_data=(xv, yv))
    # patience 1 with a huge min_delta: stops after epoch 2 and restores epoch 1's weights
    stopping = keras.callbacks.EarlyStopping(patience=1, min_delta=10.0, restore_best_weights=True)
    callbacks = [tracking, stopping] if order == "trackboard-first" else [stopping, tracking]
    model.fit(x, y, batch_size=8, epochs=5, verbose=0, validation_data=(xv, yv), callbacks=callbacks)
    experiment = client.get_project("p").get_experiment("best")
    matrix = np.array(experiment.get_log("confusion_matrix").data["values"])
    final = model.predict(xv, verbose=0).argmax(-1)  # the weights the user ends up with
    assert np.trace(matrix) == int((final == yv).sum())
    metrics = experiment.get_log("evaluation").data["metrics"]
    assert metrics["val_loss"] == pytest.approx(model.evaluate(xv, yv, verbose=0, return_dict=True)["loss"], rel=1e-4)
    assert experiment.status == "SUCCESS"


def test_keras_callback_reused_for_a_second_fit_is_running_while_it_runs(client):
    import keras

    from lifecycle_fits import data
    from trackboard.callbacks.keras import TrackboardCallback

    seen = []

    class Look(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(client.get_project("p").get_experiment("reused").status)

    x, y = data()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    tracking = TrackboardCallback(project="p", experiment="reused", client=client)
    for _ in range(2):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[tracking, Look()])
        assert client.get_project("p").get_experiment("reused").status == "SUCCESS"
    assert seen == ["RUNNING", "RUNNING"]


def test_lightning_failing_checkpoint_copy_still_ends_success(client, tmp_path):
    import lightning.pytorch as L
    from lightning.pytorch.callbacks import ModelCheckpoint

    from trackboard.callbacks.lightning import TrackboardLogger

    logger = TrackboardLogger(project="p", experiment="ckpt", client=client, log_model=True, save_dir=tmp_path)

    def broken_store(name, path):
        raise OSError(28, "No space left on device")

    logger._run.store = broken_store
    trainer = L.Trainer(max_epochs=1, logger=logger, callbacks=[ModelCheckpoint()], log_every_n_steps=1,
                        enable_progress_bar=False, enable_model_summary=False)
    with pytest.warns(Warning, match="store checkpoints"):
        trainer.fit(tiny_lightning_module(), tiny_loader())
    experiment = client.get_project("p").get_experiment("ckpt")
    assert experiment.status == "SUCCESS"
    assert trainer.log_dir == str(tmp_path)
    assert list((tmp_path / "p" / "ckpt" / "checkpoints").glob("*.ckpt"))  # where ModelCheckpoint wrote


def _lightning_module(fail_at=None):
    def node_lost(step):
        if fail_at is not None and step >= fail_at:
            raise Boom("node lost")

    return tiny_lightning_module(node_lost)


def test_lightning_crash_then_resume_keeps_one_value_per_step(client, tmp_path):
    import lightning.pytorch as L
    from lightning.pytorch.callbacks import ModelCheckpoint

    from trackboard.callbacks.lightning import TrackboardLogger

    def trainer(logger):
        checkpoints = ModelCheckpoint(every_n_train_steps=4, save_top_k=-1)
        return L.Trainer(max_epochs=3, logger=logger, callbacks=[logger, checkpoints], log_every_n_steps=1,
                         enable_progress_bar=False, enable_model_summary=False)

    first = TrackboardLogger(project="p", client=client, save_dir=tmp_path)
    with pytest.raises(Boom):
        trainer(first).fit(_lightning_module(fail_at=10), tiny_loader())
    experiment = client.get_project("p").get_experiment(first.version)
    assert experiment.status == "FAILED" and max(experiment.get_log("train_loss").data["steps"]) == 9
    folder = tmp_path / "p" / first.version / "checkpoints"
    checkpoint = next(folder.glob("*step=8.ckpt"))

    second = TrackboardLogger(project="p", client=client, save_dir=tmp_path)  # a new process would draw a new name
    resumed = trainer(second)
    resumed.fit(_lightning_module(), tiny_loader(), ckpt_path=checkpoint)
    assert second.version == first.version  # the checkpoint's experiment goes on...
    assert list(folder.glob("*step=16.ckpt"))  # ...and its checkpoints stay beside the first ones
    steps = experiment.get_log("train_loss").data["steps"]
    assert steps == list(range(resumed.global_step))  # each step once: the abandoned 8 and 9 are gone
    assert experiment.status == "SUCCESS"


def test_lightning_cli_with_only_the_trackboard_logger(store_env, tmp_path, monkeypatch):
    from lightning.pytorch.cli import LightningCLI

    monkeypatch.chdir(tmp_path)
    module = _lightning_module()
    cli = LightningCLI(
        type(module), save_config_kwargs={"overwrite": True}, run=False,
        args=["--trainer.logger=trackboard.callbacks.lightning.TrackboardLogger", "--trainer.logger.project=cli",
              "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false", "--trainer.log_every_n_steps=1"],
    )
    cli.trainer.fit(cli.model, tiny_loader())
    experiment = Client().get_project("cli").list_experiments()[0]
    assert experiment.status == "SUCCESS" and len(experiment.get_log("train_loss").data["steps"]) == 6
    assert (tmp_path / "lightning_logs" / "config.yaml").is_file()  # SaveConfigCallback wrote to trainer.log_dir


def _hf_trainer(out, callbacks, **args):
    from transformers import Trainer, TrainingArguments

    from lifecycle_fits import tiny_bert, token_dataset

    settings = dict(per_device_train_batch_size=8, num_train_epochs=3, logging_steps=1, report_to="none",
                    use_cpu=True, disable_tqdm=True, seed=0, save_strategy="no")
    settings.update(args)
    return Trainer(tiny_bert(), TrainingArguments(str(out), **settings),
                   train_dataset=token_dataset(48, 0), eval_dataset=token_dataset(21, 1), callbacks=callbacks)


def test_hf_load_best_model_at_end_evaluation_describes_the_best_model(client, tmp_path):
    from trackboard.callbacks.transformers import TrackboardCallback

    callback = TrackboardCallback(project="p", experiment="best", client=client)
    trainer = _hf_trainer(tmp_path, [callback], eval_strategy="epoch", save_strategy="epoch", learning_rate=0.05,
                          load_best_model_at_end=True, metric_for_best_model="eval_loss")
    trainer.train()
    experiment = client.get_project("p").get_experiment("best")
    evaluation = experiment.get_log("evaluation").data["metrics"]
    again = trainer.evaluate()  # the model the user ends up with: the best one
    assert evaluation["eval_loss"] == pytest.approx(again["eval_loss"], rel=1e-5)
    matrix = experiment.get_log("confusion_matrix").data["values"]
    assert sum(map(sum, matrix)) == 21
    assert evaluation["accuracy"] == pytest.approx((matrix[0][0] + matrix[1][1]) / 21)
    assert experiment.status == "SUCCESS"


def test_hf_crash_then_resume_keeps_one_value_per_step(client, tmp_path):
    from transformers import TrainerCallback

    from trackboard.callbacks.transformers import TrackboardCallback

    class Fail(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= 10:
                raise Boom("node lost")

    first = TrackboardCallback(project="p", client=client, confusion_matrix=False)
    with pytest.raises(Boom):
        _hf_trainer(tmp_path, [first, Fail()], save_strategy="steps", save_steps=4).train()
    name = first._run.choice.name
    experiment = client.get_project("p").get_experiment(name)
    assert experiment.status == "FAILED" and max(experiment.get_log("loss").data["steps"]) == 9

    second = TrackboardCallback(project="p", client=client, confusion_matrix=False)
    trainer = _hf_trainer(tmp_path, [second], save_strategy="steps", save_steps=4)
    trainer.train(resume_from_checkpoint=str(tmp_path / "checkpoint-8"))
    assert second._run.choice.name == name
    assert experiment.get_log("loss").data["steps"] == list(range(1, trainer.state.global_step + 1))
    assert experiment.status == "SUCCESS"
