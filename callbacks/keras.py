"""Keras 3 (any backend): ``TrackboardCallback``.

>>> from trackboard.callbacks.keras import TrackboardCallback                      # doctest: +SKIP
>>> model.fit(x, y, validation_data=(xv, yv), epochs=5,
...           callbacks=[TrackboardCallback(project="mnist", validation_data=(xv, yv),
...                                         class_names=["cat", "dog"])])           # doctest: +SKIP

What is logged: the epoch's metrics under Keras' own keys (``loss``, ``accuracy``, ``val_loss``...)
as LINE at ``optimizer.iterations`` (optimizer steps: gradient accumulation does not stretch the
axis) with the epoch of each point, and with ``log_every_n_steps`` the batch metrics too (Keras'
running averages over the epoch, as its progress bar shows them); the optimizer config, fit
params and ``parameters`` as the TABLE ``parameters``; with ``validation_data`` a final
``confusion_matrix`` (HEATMAP), ``labelmap`` and ``evaluation``; with ``log_model`` the model.

The batch hook only queues points, so the callback is ``async_safe``: Keras 3 keeps dispatching
batch hooks asynchronously and never waits for the device because of it. ``on_test_*`` calls
that Keras makes inside ``fit`` are ignored (the epoch's ``val_*`` metrics are the same numbers);
a ``model.evaluate(..., callbacks=[cb])`` outside ``fit`` logs ``test_*`` metrics.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence


def _default_backend() -> None:
    """Where Keras would pick TensorFlow and it is not installed, use a backend that is.

    Keras defaults to TensorFlow (and writes that default into ``~/.keras/keras.json`` on first
    import); without it ``import keras`` fails outright. A backend chosen in ``KERAS_BACKEND`` or
    ``keras.json`` other than TensorFlow, or a keras already imported, is left alone.
    """
    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND") or importlib.util.find_spec("tensorflow"):
        return
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as file:
            configured = json.load(file).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        configured = "tensorflow"
    if configured != "tensorflow":
        return
    for backend in ("torch", "jax"):
        if importlib.util.find_spec(backend):
            os.environ["KERAS_BACKEND"] = backend
            logging.getLogger("trackboard.callbacks").info("trackboard: KERAS_BACKEND=%s (no TensorFlow)", backend)
            return


_default_backend()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from trackboard import Client, LogType  # noqa: E402

from ._classification import align, class_names_for, classification_logs, confusion_counts, sample_rows  # noqa: E402
from ._guards import never_raises, rank_zero_hook  # noqa: E402
from ._run import TrackedRun  # noqa: E402
from ._training_call import current_call, watch_method  # noqa: E402

__all__ = ["TrackboardCallback"]

LOG_MODEL_CHOICES = (False, True, "all")

# fit() tells its callbacks nothing when it fails: wrapped once, it tells ours (see _training_call).
# At import, because ``model.fit(..., callbacks=[TrackboardCallback()])`` looks fit up first.
watch_method(keras.Model, "fit", "keras")


def process_rank() -> int:
    """This process's global rank from the launcher's environment (``RANK``, else ``LOCAL_RANK``).

    >>> isinstance(process_rank(), int)
    True
    """
    for variable in ("RANK", "LOCAL_RANK"):
        value = os.environ.get(variable, "").strip()
        if value.isdigit():
            return int(value)
    return 0


class TrackboardCallback(keras.callbacks.Callback):
    """A Keras callback writing to a trackboard experiment.

    Args:
        project: project name (default: ``TRACKBOARD_PROJECT``, else the script's name).
        experiment: an experiment name (continued if it exists), an experiment object (anything
            with ``log(name, data, type, replace=...)``, a ``picsellia`` experiment included), or
            None for ``TRACKBOARD_EXPERIMENT``, else a fresh name.
        client: the ``trackboard.Client`` to use (default: one from ``TRACKBOARD_*``).
        parameters: extra hyperparameters for the ``parameters`` table.
        validation_data: ``(x, y)`` (or ``(x, y, sample_weight)``, or an iterable of such
            batches) to compute the final confusion matrix on.
        class_names: names of the classes, in class-id order (default: the ids).
        log_every_n_steps: also log the batch metrics every n training batches.
        log_model: ``True`` stores the model when training ends, ``"all"`` after every epoch.
        max_samples: per-sample rows kept in ``evaluation`` (0 for none).
        capture: record the environment, requirements, git diff and system metrics of an experiment
            it creates (default: ``TRACKBOARD_CAPTURE``, on).
    """

    def __init__(
        self,
        project: str | None = None,
        experiment: Any = None,
        client: Client | None = None,
        *,
        parameters: Mapping[str, Any] | None = None,
        validation_data: Any = None,
        class_names: Sequence[str] | Mapping[int, str] | None = None,
        log_every_n_steps: int | None = None,
        log_model: bool | str = False,
        max_samples: int = 100,
        capture: bool | None = None,
    ) -> None:
        super().__init__()
        if log_every_n_steps is not None and (not isinstance(log_every_n_steps, int) or log_every_n_steps < 1):
            raise ValueError(f"log_every_n_steps must be a positive int or None, got {log_every_n_steps!r}")
        if log_model not in LOG_MODEL_CHOICES:
            raise ValueError(f"log_model must be False, True or 'all', got {log_model!r}")
        # Keras may run batch hooks on a thread pool, out of order; its steps never go back within a fit.
        self._run = TrackedRun(project, experiment, client, framework="keras", capture=capture, in_step_order=True)
        self.parameters = dict(parameters or {})
        self.validation_data = validation_data
        self.class_names = class_names
        self.log_every_n_steps = log_every_n_steps
        self.log_model = log_model
        self.max_samples = max_samples
        # Batch hooks only append to a buffer (thread-safe), so Keras may run them off its loop.
        self.async_safe = True
        self._rank = process_rank()
        self._in_fit = False
        self._optimizer: Any = None
        self._accumulation = 1
        self._epoch = 0
        self._batches_before_epoch = 0  # optimizer._iterations (batches) when the epoch began
        self._batch_keys: set[str] = set()
        self._fit_arguments: dict[str, Any] = {}
        self._end_deferred = False  # the end-of-training work waits for fit() to return

    @property
    def experiment(self) -> Any:
        """The trackboard experiment (opened or created on first use)."""
        return self._run.experiment

    def _is_rank_zero(self, *args: Any, **kwargs: Any) -> bool:
        return self._rank == 0

    # -- fit --------------------------------------------------------------------------------

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self._in_fit = True
        self._rank = process_rank()
        call = current_call("keras")
        self._end_deferred = call is not None
        arguments = call.arguments if call is not None else {}
        self._fit_arguments = {key: arguments[key] for key in FIT_ARGUMENTS if arguments.get(key) is not None}
        if call is not None:
            call.listen(self)
        self._begin_training()

    @rank_zero_hook("log hyperparameters")
    def _begin_training(self) -> None:
        model = self.model
        self._run.start()  # RUNNING again when this callback is reused for another fit()
        self._optimizer = model.optimizer
        self._accumulation = getattr(self._optimizer, "gradient_accumulation_steps", None) or 1
        parameters = _fit_parameters(model, self.params, self._fit_arguments)
        self._run.log_parameters({**parameters, **self.parameters})
        if self.class_names is not None:
            names = class_names_for(0, self.class_names)
            self._run.log_records([("labelmap", names, LogType.LABELMAP)])

    @rank_zero_hook("read the optimizer step")
    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self._epoch = epoch
        if self.log_every_n_steps and self._optimizer is not None:
            # Read once per epoch (the device is idle between epochs); batch hooks add the index.
            raw = getattr(self._optimizer, "_iterations", None)
            self._batches_before_epoch = _to_int(raw if raw is not None else self._optimizer.iterations)

    @rank_zero_hook("log batch metrics")
    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        every = self.log_every_n_steps
        if not every or not logs:
            return
        batches = self._batches_before_epoch + batch + 1
        if batches % every:
            return
        self._batch_keys.update(logs)
        # optimizer.iterations after this batch, computed rather than read: no device sync here.
        self._run.log_metrics(logs, batches // self._accumulation, self._epoch)

    @rank_zero_hook("log epoch metrics")
    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        metrics = dict(logs or {})
        if self._logged_last_batch():  # its point already holds the epoch's final training values
            metrics = {k: v for k, v in metrics.items() if k not in self._batch_keys}
        self._run.log_metrics(metrics, self._optimizer_step(), epoch)
        self._run.flush_lines()
        if self.log_model == "all":
            self._store_model(f"model-epoch{epoch + 1}.keras")

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        self._in_fit = False
        if not self._end_deferred:  # fit() not watched (a custom loop calling the hooks): now
            self._end_training()

    def training_returned(self) -> None:
        """fit() returned: every callback's on_train_end ran (EarlyStopping restored its weights)."""
        self._end_deferred = False
        self._end_training()

    def training_failed(self, error: BaseException) -> None:
        """fit() raised (Ctrl-C included): the points logged so far are stored, the run is FAILED."""
        self._in_fit = self._end_deferred = False
        if self._rank == 0:
            self._run.end_on_failure()

    @rank_zero_hook("finish the experiment")
    def _end_training(self) -> None:
        # Each step on its own: one failing must not skip the others; the status is set last.
        try:
            if self.validation_data is not None:
                self._run.attempt("log the confusion matrix", self._log_confusion)
            if self.log_model is True:
                self._run.attempt("store the model", self._store_model, "model.keras")
        finally:
            self._run.finish("SUCCESS")

    # -- evaluate (outside fit) -------------------------------------------------------------

    @rank_zero_hook("log test metrics")
    def on_test_end(self, logs: Mapping[str, Any] | None = None) -> None:
        if self._in_fit or not logs:  # inside fit these are the epoch's val_* metrics again
            return
        step = self._optimizer_step() if self._optimizer is not None else 0
        self._run.log_metrics({f"test_{name}": value for name, value in logs.items()}, step, None)
        self._run.flush()

    # -- helpers ----------------------------------------------------------------------------

    def _logged_last_batch(self) -> bool:
        steps = (self.params or {}).get("steps")
        every = self.log_every_n_steps
        return bool(every and steps and (self._batches_before_epoch + steps) % every == 0)

    def _optimizer_step(self) -> int:
        optimizer = self._optimizer if self._optimizer is not None else self.model.optimizer
        return _to_int(optimizer.iterations)

    def _log_confusion(self) -> None:
        """Matrix, label map and evaluation of the model as fit() leaves it, from one pass."""
        targets, outputs = _predict(self.model, self.validation_data)
        y_true, y_pred, scores, num_classes = align(targets, outputs)
        names = class_names_for(num_classes, self.class_names)
        cm = confusion_counts(y_true, y_pred, len(names))
        samples = sample_rows(y_true, y_pred, scores, names, self.max_samples)
        metrics = _loss_of(self.model, targets, outputs)
        self._run.log_records(classification_logs(cm, names, metrics=metrics, samples=samples))

    @never_raises("store the model")
    def _store_model(self, name: str) -> None:
        with tempfile.TemporaryDirectory(prefix="trackboard-") as folder:  # our own file, removed after
            path = Path(folder) / name
            self.model.save(path)
            self._run.store(name, path)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_model"] = None  # the model is re-attached by Keras (set_model) where it is used
        state["_optimizer"] = None
        return state


FIT_ARGUMENTS = ("batch_size", "validation_split", "validation_freq", "shuffle", "initial_epoch",
                 "steps_per_epoch", "validation_steps", "class_weight")


def _fit_parameters(model: Any, params: Mapping[str, Any] | None, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Optimizer config, fit params and arguments, loss, compiled metrics and model size."""
    fit = {key: value for key, value in (params or {}).items() if key != "verbose"}
    fit.update(arguments)
    out: dict[str, Any] = {"fit": fit}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        out["optimizer"] = {"class": type(optimizer).__name__, **optimizer.get_config()}
    if getattr(model, "loss", None) is not None:
        out["loss"] = model.loss
    compiled = _compile_config(model)
    if compiled.get("metrics") is not None:
        out["metrics"] = compiled["metrics"]
    if compiled.get("weighted_metrics") is not None:
        out["weighted_metrics"] = compiled["weighted_metrics"]
    out["model"] = {
        "name": model.name,
        "class": type(model).__name__,
        # Shapes only: counting parameters must not read weights from the device.
        "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "non_trainable_params": int(sum(np.prod(w.shape) for w in model.non_trainable_weights)),
    }
    return out


def _compile_config(model: Any) -> dict[str, Any]:
    try:
        return dict(model.get_compile_config() or {})
    except Exception:  # noqa: BLE001 - not compiled, or a config that cannot be serialised
        return {}


def _loss_of(model: Any, targets: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
    """``{'val_loss': ...}`` of these predictions under the compiled loss ({} when there is none)."""
    if getattr(model, "loss", None) is None:
        return {}
    try:
        loss = model.compute_loss(x=None, y=targets, y_pred=outputs, training=False)
        return {"val_loss": float(keras.ops.convert_to_numpy(loss))}
    except Exception:  # noqa: BLE001 - a custom loss that needs more than (y, y_pred)
        return {}


PREDICT_BATCH = 256


def _predict(model: Any, data: Any) -> tuple[np.ndarray, np.ndarray]:
    """Targets and model outputs over ``(x, y[, w])`` or an iterable of such batches.

    ``predict_on_batch`` on slices: ``model.predict`` would build a data pipeline and a callback
    list first, which costs more than predicting a small validation set.
    """
    if isinstance(data, (tuple, list)) and len(data) in (2, 3) and hasattr(data[0], "shape"):
        inputs, labels = data[0], data[1]
        batches = [(inputs[i:i + PREDICT_BATCH], None) for i in range(0, len(inputs), PREDICT_BATCH)]
        targets = [keras.ops.convert_to_numpy(labels)]
    else:
        batches, targets = ((batch[0], batch[1]) for batch in data), []
    outputs = []
    for batch_inputs, batch_labels in batches:
        outputs.append(keras.ops.convert_to_numpy(model.predict_on_batch(batch_inputs)))
        if batch_labels is not None:
            targets.append(keras.ops.convert_to_numpy(batch_labels))
    return np.concatenate(targets), np.concatenate(outputs)


def _to_int(value: Any) -> int:
    return int(keras.ops.convert_to_numpy(value))
