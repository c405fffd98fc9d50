"""Keras 3 + trackboard: a tiny classifier on synthetic data, on the CPU, in seconds.

    KERAS_BACKEND=torch python examples/keras_example.py && trackboard ui

Any Keras 3 backend works (torch is used when none is set and TensorFlow is missing). Logs to
the embedded store (``TRACKBOARD_DIR``, default ``./.trackboard``), project "keras": batch
metrics every 10 optimizer steps and the epoch's ``loss`` / ``accuracy`` / ``val_*``, the
optimizer config, fit parameters and this script's own settings, the final confusion matrix,
label map and evaluation, and the trained model.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported

import keras  # noqa: E402
import numpy as np  # noqa: E402

from trackboard.callbacks.keras import TrackboardCallback  # noqa: E402

CLASSES = ["circle", "square", "triangle", "star"]
SETTINGS = {"samples": 2000, "noise_dims": 6, "hidden": 32, "batch_size": 32, "epochs": 5, "seed": 0}


def blobs(samples: int, noise_dims: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Four Gaussian blobs in 2-D, with noise dimensions: an easy four-class problem."""
    rng = np.random.default_rng(seed)
    centers = np.array([[2.0, 2.0], [-2.0, 2.0], [-2.0, -2.0], [2.0, -2.0]])
    y = rng.integers(0, len(CLASSES), samples)
    x = np.concatenate([centers[y] + 1.2 * rng.normal(size=(samples, 2)), rng.normal(size=(samples, noise_dims))], 1)
    return x.astype("float32"), y


def main() -> None:
    keras.utils.set_random_seed(SETTINGS["seed"])
    x, y = blobs(SETTINGS["samples"], SETTINGS["noise_dims"], SETTINGS["seed"])
    split = int(0.8 * len(x))
    (x_train, y_train), validation = (x[:split], y[:split]), (x[split:], y[split:])

    model = keras.Sequential([
        keras.Input((x.shape[1],)),
        keras.layers.Dense(SETTINGS["hidden"], activation="relu"),
        keras.layers.Dense(len(CLASSES), activation="softmax"),
    ], name="blobs_mlp")
    # Two batches per optimizer step: the points stay at optimizer.iterations.
    optimizer = keras.optimizers.Adam(learning_rate=5e-3, gradient_accumulation_steps=2)
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])

    tracker = TrackboardCallback(
        project="keras",
        parameters=SETTINGS,
        validation_data=validation,  # for the final confusion matrix
        class_names=CLASSES,
        log_every_n_steps=10,
        log_model=True,
    )
    model.fit(x_train, y_train, batch_size=SETTINGS["batch_size"], epochs=SETTINGS["epochs"],
              validation_data=validation, callbacks=[tracker], verbose=0)

    experiment = tracker.experiment
    accuracy = experiment.get_log("evaluation").data["metrics"]["accuracy"]
    experiment.log("validation_accuracy", accuracy, "value")
    print(f"logged to keras/{experiment.name}: validation accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
