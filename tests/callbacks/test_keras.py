"""TrackboardCallback on real (tiny) Keras 3 fits, on the torch backend."""

from __future__ import annotations

import enum
import os
import pickle
import threading
import warnings
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from trackboard.callbacks.keras import TrackboardCallback  # noqa: E402

from cbhelpers import RecordingExperiment, only_experiment, tracking_warnings  # noqa: E402

CLASSES = ["low", "mid", "high"]
N_TRAIN, N_VAL, BATCH = 48, 20, 8  # 6 batches an epoch


class Optim(enum.Enum):
    ADAM = "adam"


def data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = ((x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5)).astype("int64")
    return x, y


X, Y = data(N_TRAIN, 0)
XV, YV = data(N_VAL, 1)


def model(accumulation: int | None = None, outputs: int = 3, activation: str = "softmax"):
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                            keras.layers.Dense(outputs, activation=activation)])
    loss = "sparse_categorical_crossentropy" if outputs > 1 else "binary_crossentropy"
    net.compile(keras.optimizers.Adam(1e-2, gradient_accumulation_steps=accumulation), loss, metrics=["accuracy"])
    return net


def fit(callback, net=None, epochs: int = 2, validation: bool = True):
    net = net or model()
    net.fit(X, Y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[callback],
            validation_data=(XV, YV) if validation else None)
    return net


def test_points_sit_at_optimizer_iterations_under_gradient_accumulation(client):
    callback = TrackboardCallback(project="p", client=client, log_every_n_steps=1)
    net = fit(callback, model(accumulation=2))

    experiment = only_experiment(client)
    loss = experiment.get_log("loss").data
    # 12 batches, one optimizer step every 2: optimizer.iterations after each batch.
    assert loss["steps"] == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6]
    assert loss["epochs"] == [0] * 6 + [1] * 6
    assert int(net.optimizer.iterations.numpy()) == 6
    # The epoch's metrics line up with its last batch; batch keys are not logged twice.
    assert experiment.get_log("val_loss").data["steps"] == [3, 6]
    assert experiment.get_log("val_loss").data["epochs"] == [0, 1]
    assert experiment.get_log("accuracy").data["steps"] == loss["steps"]
    assert experiment.status == "SUCCESS"


def test_epoch_level_by_default(client):
    fit(TrackboardCallback(project="p", client=client))
    experiment = only_experiment(client)
    assert experiment.get_log("loss").data["steps"] == [6, 12]
    assert experiment.get_log("val_accuracy").data["epochs"] == [0, 1]


def test_log_every_n_steps_counts_batches(client):
    fit(TrackboardCallback(project="p", client=client, log_every_n_steps=4))
    # Batches 4, 8, 12 and each epoch's end (6, 12): the end of epoch 0 is not a logged batch.
    assert only_experiment(client).get_log("loss").data["steps"] == [4, 6, 8, 12]


def test_keeps_keras_asynchronous_batch_dispatch(client):
    callback = TrackboardCallback(project="p", client=client, log_every_n_steps=1)
    callbacks = keras.callbacks.CallbackList([callback], model=model())
    assert callbacks._async_train  # Keras would turn it off for a callback that is not async_safe
    threads = set()
    original = callback._run.log_metrics

    def spy(metrics, step, epoch=None):
        threads.add(threading.current_thread().name)
        original(metrics, step, epoch)

    callback._run.log_metrics = spy
    fit(callback, epochs=1)
    assert threading.main_thread().name in threads  # on_epoch_end
    assert len(threads) > 1  # batch hooks ran on Keras' dispatch threads
    assert len(only_experiment(client).get_log("loss").data["steps"]) == 6


def test_parameters_hold_optimizer_fit_and_user_values(client):
    callback = TrackboardCallback(project="p", client=client,
                                  parameters={"optimizer_choice": Optim.ADAM, "data": Path("/data/toy"), "seed": 0})
    fit(callback, epochs=1)
    parameters = only_experiment(client).get_log("parameters").data
    assert parameters["optimizer"]["class"] == "Adam"
    assert parameters["optimizer"]["learning_rate"] == pytest.approx(1e-2)
    assert parameters["fit"] == {"epochs": 1, "steps": 6, "batch_size": 8}  # fit()'s own arguments too
    assert parameters["loss"] == "sparse_categorical_crossentropy"
    assert parameters["metrics"] == ["accuracy"]
    assert parameters["model"]["trainable_params"] == 4 * 8 + 8 + 8 * 3 + 3
    assert (parameters["optimizer_choice"], parameters["data"], parameters["seed"]) == ("adam", "/data/toy", 0)


def test_confusion_matrix_from_validation_data(client):
    callback = TrackboardCallback(project="p", client=client, validation_data=(XV, YV), class_names=CLASSES)
    net = fit(callback)
    experiment = only_experiment(client)
    heatmap = experiment.get_log("confusion_matrix").data
    assert heatmap["categories"] == CLASSES
    assert np.array(heatmap["values"]).shape == (3, 3)
    assert sum(map(sum, heatmap["values"])) == N_VAL
    predicted = net.predict(XV, verbose=0).argmax(-1)
    assert [heatmap["values"][i][i] for i in range(3)] == [int(((YV == i) & (predicted == i)).sum()) for i in range(3)]
    assert experiment.get_log("labelmap").data == {"0": "low", "1": "mid", "2": "high"}
    # The evaluation's metrics come from the matrix's own pass over the final model.
    metrics = experiment.get_log("evaluation").data["metrics"]
    keras_says = net.evaluate(XV, YV, verbose=0, return_dict=True)
    assert metrics["accuracy"] == pytest.approx(keras_says["accuracy"], abs=1e-6)
    assert metrics["val_loss"] == pytest.approx(keras_says["loss"], rel=1e-4)


def test_confusion_matrix_over_a_validation_set_larger_than_a_prediction_batch(client):
    x, y = data(700, 2)  # predicted in slices of 256
    fit(TrackboardCallback(project="p", client=client, validation_data=(x, y)), epochs=1)
    assert sum(map(sum, only_experiment(client).get_log("confusion_matrix").data["values"])) == 700


def test_confusion_matrix_for_one_hot_labels_and_binary_outputs(client):
    binary = (YV > 0).astype("float32")
    net = model(outputs=1, activation="sigmoid")
    net.fit(X, (Y > 0).astype("float32"), batch_size=BATCH, epochs=1, verbose=0,
            callbacks=[TrackboardCallback(project="p", experiment="binary", client=client,
                                          validation_data=(XV, binary))])
    one_hot = np.eye(3, dtype="float32")[YV]
    net = model()
    net.compile(net.optimizer, "categorical_crossentropy")
    net.fit(X, np.eye(3, dtype="float32")[Y], batch_size=BATCH, epochs=1, verbose=0,
            callbacks=[TrackboardCallback(project="p", experiment="one-hot", client=client,
                                          validation_data=[(XV[:10], one_hot[:10]), (XV[10:], one_hot[10:])])])
    project = client.get_project("p")
    assert np.array(project.get_experiment("binary").get_log("confusion_matrix").data["values"]).shape == (2, 2)
    values = project.get_experiment("one-hot").get_log("confusion_matrix").data["values"]
    assert np.array(values).shape == (3, 3) and sum(map(sum, values)) == N_VAL


def test_test_hooks_inside_fit_are_ignored_and_evaluate_outside_fit_is_logged(client):
    callback = TrackboardCallback(project="p", client=client)
    net = fit(callback)
    experiment = only_experiment(client)
    assert not any(log.name.startswith("test_") for log in experiment.list_logs())
    net.evaluate(XV, YV, verbose=0, callbacks=[callback])
    assert experiment.get_log("test_loss").data["steps"] == [12]


def test_nothing_is_logged_on_other_ranks(store_env, monkeypatch):
    from trackboard import Client

    monkeypatch.setenv("RANK", "1")
    fit(TrackboardCallback(project="p", validation_data=(XV, YV), log_every_n_steps=1, log_model=True))
    assert Client(directory=store_env).list_projects() == []


def test_a_broken_store_is_one_warning_and_training_finishes(broken_store_env):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = fit(TrackboardCallback(project="p", validation_data=(XV, YV), log_every_n_steps=1))
    assert int(net.optimizer.iterations.numpy()) == 12
    assert len(tracking_warnings(caught)) == 1


def test_a_store_failing_mid_run_is_a_warning_not_an_exception(unwritable_store):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = fit(TrackboardCallback(project="p", client=unwritable_store, log_every_n_steps=1))
    assert int(net.optimizer.iterations.numpy()) == 12
    assert any("No space left" in message for message in tracking_warnings(caught))


def test_pickles_and_logs_to_the_same_experiment(client):
    callback = TrackboardCallback(project="p", experiment="run", client=client, validation_data=(XV, YV))
    fit(callback, epochs=1)
    clone = pickle.loads(pickle.dumps(callback))
    fit(clone, epochs=1)
    assert only_experiment(client).get_log("loss").data["steps"] == [6, 6]  # a second fit, new model


def test_passing_an_experiment_continues_it(client):
    experiment = client.get_or_create_project("p").create_experiment("mine", parameters={"note": "given"})
    fit(TrackboardCallback(experiment=experiment), epochs=1)
    fit(TrackboardCallback(project="p", experiment="mine", client=client), epochs=1)
    assert experiment.get_log("loss").data["steps"] == [6, 6]
    assert experiment.get_log("parameters").data["note"] == "given"  # merged, not replaced


def test_a_foreign_experiment_object_gets_the_records():
    foreign = RecordingExperiment()
    fit(TrackboardCallback(experiment=foreign, validation_data=(XV, YV), class_names=CLASSES, log_every_n_steps=3))
    assert foreign.points("loss") == {"steps": [3, 6, 9, 12], "values": foreign.points("loss")["values"],
                                      "epochs": [0, 0, 1, 1]}
    assert foreign.last("confusion_matrix")["categories"] == CLASSES
    assert foreign.last("parameters")["fit"]["epochs"] == 2


def test_a_picsellia_experiment_gets_lists_appended_with_replace():
    class PicselliaExperiment(RecordingExperiment):
        pass

    PicselliaExperiment.__module__ = "picsellia.sdk.experiment"  # how the adapter recognises one
    foreign = PicselliaExperiment()
    fit(TrackboardCallback(experiment=foreign), epochs=2)
    lines = [(data, replace) for name, data, kind, replace in foreign.calls if name == "loss"]
    assert all(isinstance(data, list) and replace for data, replace in lines)
    assert sum(len(data) for data, _ in lines) == 2


def test_log_model(client):
    fit(TrackboardCallback(project="p", experiment="every", client=client, log_model="all"))
    fit(TrackboardCallback(project="p", experiment="final", client=client, log_model=True))
    project = client.get_project("p")
    every = [a.name for a in project.get_experiment("every").list_artifacts()]
    assert every == ["model-epoch1.keras", "model-epoch2.keras"]
    artifact = project.get_experiment("final").get_artifact("model.keras")
    restored = keras.saving.load_model(artifact.download(client.settings.directory))
    assert restored.count_params() == model().count_params()
