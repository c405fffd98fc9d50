"""PyTorch Lightning: ``TrackboardLogger`` and ``ConfusionMatrixCallback``.

Works with ``lightning.pytorch`` and with the standalone ``pytorch_lightning`` package (either
Trainer accepts the other's loggers and callbacks).

>>> from trackboard.callbacks.lightning import TrackboardLogger, ConfusionMatrixCallback  # doctest: +SKIP
>>> logger = TrackboardLogger(project="mnist")                                           # doctest: +SKIP
>>> trainer = Trainer(logger=logger, callbacks=[logger, ConfusionMatrixCallback()])      # doctest: +SKIP

What is logged: every ``self.log(...)`` metric as a LINE at Lightning's ``step`` (the optimizer
step, so gradient accumulation does not stretch the axis) with the epoch of each point; the
module and datamodule hyperparameters as the TABLE ``parameters``; with ``ConfusionMatrixCallback``
the final ``confusion_matrix`` (HEATMAP), ``labelmap`` and ``evaluation``; with ``log_model``
the checkpoints as artifacts. Passing the logger in ``callbacks`` too lets it save its
experiment id in every checkpoint, so ``trainer.fit(ckpt_path=...)`` continues that experiment,
and adds the trainer and optimizer settings to ``parameters``.
"""

from __future__ import annotations

import os
import weakref
from argparse import Namespace
from typing import Any, Callable, Mapping

import numpy as np
import torch

try:  # the unified package first, the standalone one otherwise
    from lightning.pytorch import Callback, LightningModule, Trainer
    from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
except ImportError:  # pragma: no cover - exercised where only pytorch_lightning is installed
    from pytorch_lightning import Callback, LightningModule, Trainer
    from pytorch_lightning.loggers.logger import Logger, rank_zero_experiment
from lightning_utilities.core.rank_zero import rank_zero_only as _lightning_rank

from trackboard import Client, TrackingWarning

from ._classification import align, class_names_for, classification_logs, confusion_counts, sample_rows
from ._guards import rank_zero_hook
from ._params import to_params
from ._run import TrackedRun

__all__ = ["TrackboardLogger", "ConfusionMatrixCallback"]

# Lightning's finalize() statuses; "finished" (SLURM requeue) means the run will go on: flush only.
_STATUSES = {"success": "SUCCESS", "failed": "FAILED"}
LOG_MODEL_CHOICES = (False, True, "all")
EPOCH = frozenset(("epoch",))


# Lightning calls every per-batch hook of every callback, each inside a profiler context (about a
# microsecond and a half each, a dozen hooks a step), unless the hook is not callable.
PER_BATCH_HOOKS = (
    "on_train_batch_start", "on_train_batch_end", "on_before_backward", "on_after_backward",
    "on_before_optimizer_step", "on_before_zero_grad", "on_validation_batch_start", "on_validation_batch_end",
    "on_test_batch_start", "on_test_batch_end", "on_predict_batch_start", "on_predict_batch_end",
)


def skip_per_batch_hooks(cls: type) -> type:
    """Set the per-batch callback hooks ``cls`` does not define to None, so Lightning skips them.

    >>> @skip_per_batch_hooks
    ... class AtTheEnd(Callback):
    ...     def on_train_end(self, trainer, pl_module): ...
    >>> AtTheEnd.on_train_batch_end is None
    True
    """
    for name in PER_BATCH_HOOKS:
        if name not in vars(cls):
            setattr(cls, name, None)
    return cls


def _is_global_zero(*args: Any, **kwargs: Any) -> bool:
    # Both lightning.pytorch and pytorch_lightning set the rank on this one shared function.
    return getattr(_lightning_rank, "rank", 0) == 0


@skip_per_batch_hooks
class TrackboardLogger(Logger, Callback):
    """A Lightning logger writing to a trackboard experiment.

    Args:
        project: project name (default: ``TRACKBOARD_PROJECT``, else the script's name).
        experiment: an experiment name (continued if it exists), an experiment object (anything
            with ``log(name, data, type, replace=...)``, a ``picsellia`` experiment included), or
            None for ``TRACKBOARD_EXPERIMENT``, else a fresh name.
        client: the ``trackboard.Client`` to use (default: one from ``TRACKBOARD_*``).
        log_model: ``True`` stores the best and last checkpoints when training succeeds,
            ``"all"`` every checkpoint when it is saved; files are copied, never deleted.
        capture: record the environment, requirements, git diff and system metrics of an experiment
            it creates (default: ``TRACKBOARD_CAPTURE``, on).
        save_dir: the local folder for files (default ``lightning_logs``, as Lightning's own
            loggers): ``ModelCheckpoint`` writes to ``save_dir/project/experiment/checkpoints``,
            and ``trainer.log_dir`` (LightningCLI's saved config) is ``save_dir``.

    The experiment is opened on first use, on global rank zero only.
    """

    def __init__(
        self,
        project: str | None = None,
        experiment: Any = None,
        client: Client | None = None,
        *,
        log_model: bool | str = False,
        capture: bool | None = None,
        save_dir: str | os.PathLike = "lightning_logs",
    ) -> None:
        super().__init__()
        if log_model not in LOG_MODEL_CHOICES:
            raise ValueError(f"log_model must be False, True or 'all', got {log_model!r}")
        self._run = TrackedRun(project, experiment, client, framework="lightning", capture=capture)
        self._save_dir = os.fspath(save_dir)
        self._log_model = log_model
        self._checkpoint_callback: Any = None
        self._stored: dict[str, float] = {}  # checkpoint path -> mtime already stored
        self._trainer_ref: Any = None
        self._last_step = 0

    _is_rank_zero = staticmethod(_is_global_zero)  # one call on the per-step path, not two

    # -- Logger identity (no I/O: ModelCheckpoint reads these while setting up) --------------

    @property
    def name(self) -> str:
        return self._run.project_name

    @property
    def version(self) -> str:
        return self._run.experiment_label

    @property
    def save_dir(self) -> str:
        return self._save_dir

    @property
    def log_dir(self) -> str:
        """This run's local folder: ``save_dir/project/experiment``."""
        return os.path.join(self._save_dir, self.name, self.version)

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The trackboard experiment (opened on first attribute use): ``logger.experiment.log(...)``."""
        return self._run.lazy

    # -- Logger hooks -----------------------------------------------------------------------

    @rank_zero_hook("log hyperparameters")
    def log_hyperparams(self, params: Mapping[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        if not self._run.running:
            self._run.start()
        self._run.log_parameters(to_params(params))

    @rank_zero_hook("log metrics")
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        if not self._run.running:  # a logger alone has no start hook: the first metrics start the run
            self._run.start()
        if step is None:  # a direct call without a step: stay at the last one
            step = self._last_step
        self._last_step = step
        epoch = metrics.get("epoch")  # Lightning adds it: a point attribute, not a curve
        self._run.log_metrics(metrics, step, None if epoch is None else int(epoch), exclude=EPOCH)

    def save(self) -> None:
        """Lightning calls this after every ``log_metrics``: nothing to do, points go out in batches."""

    @rank_zero_hook("finish the experiment")
    def finalize(self, status: str) -> None:
        # The checkpoints are stored on their own: a failing copy must not leave the run RUNNING.
        try:
            if status == "success" and self._log_model is True:
                self._run.attempt("store checkpoints", self._store_checkpoints, final=True)
        finally:
            self._run.finish(_STATUSES.get(status))

    @rank_zero_hook("store checkpoints")
    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        if not self._log_model:
            return
        self._checkpoint_callback = checkpoint_callback
        if self._log_model == "all":
            self._store_checkpoints(final=False)

    def _store_checkpoints(self, final: bool) -> None:
        callback = self._checkpoint_callback
        if callback is None:
            return
        try:
            best, last = callback.best_model_path, callback.last_model_path
            paths = [best, last] if final else [*getattr(callback, "best_k_models", {}), best, last]
        except ReferenceError:  # the checkpoint callback is gone with its trainer
            return
        for path in dict.fromkeys(p for p in paths if p and os.path.isfile(p)):
            mtime = os.path.getmtime(path)
            if self._stored.get(path) != mtime:
                self._run.store(os.path.basename(path), path)
                self._stored[path] = mtime
        if final and best and os.path.isfile(best) and os.path.basename(best) != "best.ckpt":
            self._run.store("best.ckpt", best)  # a stable name for "the best model" (same blob)

    @rank_zero_hook("log the confusion matrix")
    def _log_confusion(self, cm: np.ndarray, result: tuple, class_names: Any, metrics: Mapping[str, float],
                       max_samples: int) -> None:
        """Called by ConfusionMatrixCallback with the counts summed over ranks."""
        names = class_names_for(cm.shape[0], class_names)
        y_true, y_pred, scores, ids = result
        samples = sample_rows(y_true, y_pred, scores, names, max_samples, ids=ids)
        self._run.log_records(classification_logs(cm, names, metrics=metrics, samples=samples))

    # -- Callback hooks (when the logger is also passed in ``callbacks``) ---------------------

    def state_dict(self) -> dict[str, Any]:
        """Saved in every checkpoint: the experiment to continue when training resumes from it."""
        return self._run.checkpoint_state()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # Lightning restores callbacks before it logs anything, so the experiment is not open yet.
        before = self.version
        if self._run.resume(state_dict) and self.version != before:
            self._follow_checkpoints(before)

    def _follow_checkpoints(self, before: str) -> None:
        """ModelCheckpoint chose its folder from the fresh name at setup (before any checkpoint was
        read): a resumed run writes its checkpoints beside the continued experiment's instead.
        Called before ModelCheckpoint restores its own state, which then finds its folder again."""
        trainer = self._trainer_ref() if self._trainer_ref is not None else None
        if trainer is None:
            return
        fresh = os.path.join(self._save_dir, self.name, before, "checkpoints")
        for callback in trainer.checkpoint_callbacks:
            if getattr(callback, "dirpath", None) == fresh:
                callback.dirpath = os.path.join(self._save_dir, self.name, self.version, "checkpoints")

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        # Kept for load_state_dict, which Lightning calls without the trainer.
        self._trainer_ref = weakref.ref(trainer)

    @rank_zero_hook("log the trainer settings")
    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._run.start()
        self._run.log_parameters({"trainer": _trainer_settings(trainer), "optimizers": _optimizers(trainer),
                                  "callbacks": _callback_settings(trainer)})

    @rank_zero_hook("rewind the resumed experiment")
    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        step = trainer.fit_loop.epoch_loop._batches_that_stepped  # the step loggers see
        if trainer.ckpt_path and step > 0:  # resumed: drop what the abandoned attempt logged after it
            self._run.rewind(step)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_checkpoint_callback"] = None  # a weak proxy into the trainer
        state["_trainer_ref"] = None
        return state


@skip_per_batch_hooks
class ConfusionMatrixCallback(Callback):
    """Logs a classifier's confusion matrix over the validation set when training ends.

    Runs the module over the first validation dataloader (every rank on its shard; the counts
    are summed across ranks) and logs ``confusion_matrix`` (HEATMAP: rows true, columns
    predicted), ``labelmap`` and ``evaluation`` (accuracy, macro and per-class precision /
    recall / F1, errors first among up to ``max_samples`` samples, and the final ``val*``
    metrics) to the trainer's ``TrackboardLogger``.

    Args:
        class_names: names of the classes, in class-id order (default: the ids).
        predict_fn: ``predict_fn(module, batch) -> (targets, predictions)`` for batches that are
            not ``(inputs, targets, ...)``; predictions may be class ids, scores or logits.
            Default: ``module(batch[0])`` against ``batch[1]``, argmax of the last dimension.
        max_samples: per-sample rows kept in ``evaluation`` (0 for none).

    >>> callback = ConfusionMatrixCallback(class_names=["cat", "dog"])                    # doctest: +SKIP
    >>> trainer = Trainer(logger=TrackboardLogger(), callbacks=[callback])                # doctest: +SKIP
    """

    def __init__(
        self,
        class_names: list[str] | Mapping[int, str] | None = None,
        predict_fn: Callable[[LightningModule, Any], tuple[Any, Any]] | None = None,
        *,
        max_samples: int = 100,
    ) -> None:
        self.class_names = class_names
        self.predict_fn = predict_fn
        self.max_samples = max_samples

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        logger = next((lg for lg in trainer.loggers if isinstance(lg, TrackboardLogger)), None)
        if logger is None:
            if trainer.is_global_zero:
                import warnings

                warnings.warn("ConfusionMatrixCallback logs through a TrackboardLogger; the trainer has none",
                              TrackingWarning, stacklevel=2)
            return
        loader = _first_val_dataloader(trainer)
        if loader is None:
            return
        # Every rank predicts on its shard (collectives must not hang when one rank fails), then
        # rank zero logs the summed counts.
        result, failed = None, 0
        try:
            result = _predict(pl_module, trainer, loader, self.predict_fn)
        except Exception as error:  # noqa: BLE001
            failed = 1
            logger._run.report("compute the confusion matrix", error)
        indices = _dataset_indices(loader)
        if result is not None and (indices is None or len(indices) != len(result[0])):
            indices = None  # not one prediction per sample (per token...): positions only
        gathered = _sum_over_ranks(trainer, pl_module, result, failed, self.class_names, indices)
        if gathered is not None and trainer.is_global_zero:
            cm, samples = gathered
            logger._log_confusion(cm, samples, self.class_names, _val_metrics(trainer), self.max_samples)


# -- helpers ------------------------------------------------------------------------------------


def _first_val_dataloader(trainer: Trainer) -> Any:
    loaders = trainer.val_dataloaders
    if isinstance(loaders, Mapping):
        loaders = next(iter(loaders.values()), None)
    if isinstance(loaders, (list, tuple)):
        loaders = loaders[0] if loaders else None
    return loaders


def _predict(module: LightningModule, trainer: Trainer, loader: Any, predict_fn: Any) -> tuple:
    """``align``'s (true ids, predicted ids, confidences, classes) over ``loader``.

    Outputs stay on the device until the end: one transfer, not one per batch.
    """
    truths, predictions = [], []
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode():
            for batch in loader:
                batch = trainer.strategy.batch_to_device(batch)
                if predict_fn is not None:
                    targets, outputs = predict_fn(module, batch)
                else:
                    if not isinstance(batch, (list, tuple)) or len(batch) < 2:
                        raise TypeError("batches are not (inputs, targets, ...): pass predict_fn=")
                    targets, outputs = batch[1], module(batch[0])
                outputs = getattr(outputs, "logits", outputs)  # Hugging Face model outputs
                if isinstance(outputs, (list, tuple)):
                    outputs = outputs[0]
                targets, outputs = torch.as_tensor(targets).detach(), torch.as_tensor(outputs).detach()
                if outputs.ndim > 2 and targets.shape == outputs.shape[:-1]:  # per token: one row each
                    targets, outputs = targets.reshape(-1), outputs.reshape(-1, outputs.shape[-1])
                truths.append(targets)
                predictions.append(outputs)
    finally:
        module.train(was_training)
    if not predictions:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), None, 0
    return align(torch.cat(truths).cpu().numpy(), torch.cat(predictions).float().cpu().numpy())


def _dataset_indices(loader: Any) -> np.ndarray | None:
    """The dataset index of each sample this rank's ``loader`` yields, in order (None: unknown).

    Under DDP the sampler is a DistributedSampler, which pads shards to equal length by repeating
    samples: the indices let each sample be counted once.
    """
    if isinstance(getattr(loader, "dataset", None), torch.utils.data.IterableDataset):
        return None
    try:
        batches = getattr(loader, "batch_sampler", None)
        if batches is not None:
            return np.fromiter((int(i) for batch in batches for i in batch), np.int64)
        sampler = getattr(loader, "sampler", None)
        return None if sampler is None else np.fromiter((int(i) for i in sampler), np.int64)
    except (TypeError, ValueError):
        return None


def _sum_over_ranks(
    trainer: Trainer, module: LightningModule, result: Any, failed: int, names: Any, indices: np.ndarray | None
) -> tuple[np.ndarray, tuple] | None:
    """(confusion matrix, (true ids, predicted ids, scores, sample ids)) over every rank's shard,
    each sample counted once (every rank must call this); None if a rank failed."""
    num_classes = max(len(names) if names is not None else 0, result[3] if result is not None else 0)
    known = int(indices is not None)
    if trainer.world_size > 1:
        sizes = trainer.strategy.all_gather(torch.tensor([num_classes, failed, known], device=module.device))
        num_classes, failed, known = int(sizes[..., 0].max()), int(sizes[..., 1].sum()), int(sizes[..., 2].min())
    if failed or num_classes == 0:
        return None
    y_true, y_pred, scores = result[0], result[1], result[2]
    ids = indices if known else np.arange(len(y_true))
    if trainer.world_size > 1 and known:
        y_true, y_pred, scores, ids = _gather_samples(trainer, module, y_true, y_pred, scores, ids)
        return confusion_counts(y_true, y_pred, num_classes), (y_true, y_pred, scores, ids)
    cm = confusion_counts(y_true, y_pred, num_classes)
    if trainer.world_size > 1:  # samples not known by index: sum the shards' counts
        total = trainer.strategy.reduce(torch.as_tensor(cm, device=module.device), reduce_op="sum")
        cm = total.cpu().numpy().astype(np.int64)
    return cm, (y_true, y_pred, scores, ids)


def _gather_samples(trainer: Trainer, module: LightningModule, y_true: np.ndarray, y_pred: np.ndarray,
                    scores: np.ndarray | None, ids: np.ndarray) -> tuple:
    """Every rank's (index, truth, prediction, score) rows, padding repeats dropped, by index."""
    rows = np.stack([ids, y_true, y_pred, scores if scores is not None else np.full(len(ids), np.nan)], axis=1)
    lengths = trainer.strategy.all_gather(torch.tensor([len(rows)], device=module.device))
    longest = int(lengths.max())
    padded = np.full((longest, 4), -1.0)
    padded[:len(rows)] = rows
    every = trainer.strategy.all_gather(torch.as_tensor(padded, dtype=torch.float64, device=module.device))
    every = every.reshape(-1, 4).cpu().numpy()
    every = every[every[:, 0] >= 0]
    _, first = np.unique(every[:, 0], return_index=True)  # sorted by index, each once
    every = every[first]
    scores_out = None if scores is None else every[:, 3]
    return every[:, 1].astype(np.int64), every[:, 2].astype(np.int64), scores_out, every[:, 0].astype(np.int64)


def _val_metrics(trainer: Trainer) -> dict[str, float]:
    return {name: float(value) for name, value in trainer.callback_metrics.items()
            if name.startswith("val") and getattr(value, "numel", lambda: 1)() == 1}


# What the parameters table keeps of Lightning's checkpoint and early-stopping callbacks.
CALLBACK_SETTINGS = {
    "ModelCheckpoint": ("monitor", "mode", "save_top_k", "save_last", "every_n_train_steps", "every_n_epochs",
                        "train_time_interval", "save_on_train_epoch_end", "dirpath", "filename"),
    "EarlyStopping": ("monitor", "mode", "patience", "min_delta", "stopping_threshold", "divergence_threshold",
                      "check_finite", "check_on_train_epoch_end"),
}


def _callback_settings(trainer: Trainer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for callback in trainer.callbacks:
        for kind, names in CALLBACK_SETTINGS.items():
            if any(cls.__name__ == kind for cls in type(callback).__mro__):
                settings = {}
                for name in names:
                    value = getattr(callback, name, getattr(callback, f"_{name}", None))
                    if isinstance(value, (str, int, float, bool)) or value is None:
                        settings[name] = value
                    else:
                        settings[name] = str(value)
                key = kind if kind not in out else f"{kind}_{len([k for k in out if k.startswith(kind)])}"
                out[key] = settings
    return out


def _trainer_settings(trainer: Trainer) -> dict[str, Any]:
    loop = trainer.fit_loop
    return {
        "max_epochs": loop.max_epochs,
        "max_steps": loop.max_steps,
        "val_check_interval": trainer.val_check_interval,
        "check_val_every_n_epoch": trainer.check_val_every_n_epoch,
        "log_every_n_steps": trainer.log_every_n_steps,
        "accumulate_grad_batches": trainer.accumulate_grad_batches,
        "gradient_clip_val": trainer.gradient_clip_val,
        "precision": trainer.precision,
        "strategy": type(trainer.strategy).__name__,
        "num_devices": trainer.num_devices,
        "num_nodes": trainer.num_nodes,
        "world_size": trainer.world_size,
    }


def _optimizers(trainer: Trainer) -> list[dict[str, Any]]:
    return [{"class": type(optimizer).__name__, **optimizer.defaults} for optimizer in trainer.optimizers]
