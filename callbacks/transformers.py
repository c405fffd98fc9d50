"""Hugging Face ``Trainer``: ``TrackboardCallback``.

>>> from trackboard.callbacks.transformers import TrackboardCallback                 # doctest: +SKIP
>>> trainer = Trainer(model, args, train_dataset=train, eval_dataset=dev,
...                   callbacks=[TrackboardCallback(project="imdb")])                # doctest: +SKIP

Pass ``report_to="none"`` (or a list without trackboard) in ``TrainingArguments``: the callback is
added explicitly.

What is logged: every ``Trainer.log`` record (``loss``, ``grad_norm``, ``learning_rate``,
``eval_*``...) as LINE at ``state.global_step`` (optimizer steps) with the epoch of each point,
eval metrics once (from ``on_log``; ``on_evaluate`` only keeps them for the final evaluation);
the end-of-training summary (``train_runtime``, ``train_loss``...) as VALUE; ``TrainingArguments``
and the model config as the TABLE ``parameters``; for classifiers (``model.config.id2label``) a
final ``confusion_matrix`` (HEATMAP), ``labelmap`` and ``evaluation`` over the eval dataloader;
``trainer.predict`` metrics (``test_*``) after training, into the same experiment; with
``log_model`` the model or checkpoints. The experiment id is saved in every checkpoint's
``trainer_state.json``, so ``trainer.train(resume_from_checkpoint=...)`` continues it.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from transformers import Trainer, TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

try:  # transformers >= 4.41 saves the state of such callbacks in every checkpoint
    from transformers.trainer_callback import ExportableState
except ImportError:  # pragma: no cover
    ExportableState = object  # type: ignore[assignment,misc]

from trackboard import Client, LogType

from ._classification import align, class_names_for, classification_logs, confusion_counts, sample_rows
from ._guards import never_raises, rank_zero_hook
from ._run import TrackedRun
from ._training_call import current_call, watch_method

__all__ = ["TrackboardCallback"]

LOG_MODEL_CHOICES = (False, True, "all")
# Keys of the record Trainer logs once at the end of train(): a summary, not a curve.
SUMMARY_KEYS = frozenset(
    ("train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos", "train_loss")
)
NOT_METRICS = frozenset(("epoch", "step"))

# train() tells its callbacks nothing when it fails: wrapped once, it tells ours (see _training_call).
watch_method(Trainer, "train", "transformers")


def epoch_index(epoch: float | None) -> int | None:
    """The 0-based epoch a point belongs to, from Trainer's fractional ``state.epoch``.

    ``state.epoch`` is 1.0 at the last step of the first epoch, so it belongs to epoch 0.

    >>> [epoch_index(e) for e in (0.25, 1.0, 1.5, None)]
    [0, 0, 1, None]
    """
    if epoch is None:
        return None
    return max(math.ceil(epoch) - 1, 0)


class TrackboardCallback(TrainerCallback, ExportableState):
    """A Hugging Face ``TrainerCallback`` writing to a trackboard experiment.

    Args:
        project: project name (default: ``TRACKBOARD_PROJECT``, else the script's name).
        experiment: an experiment name (continued if it exists), an experiment object (anything
            with ``log(name, data, type, replace=...)``, a ``picsellia`` experiment included), or
            None for ``TRACKBOARD_EXPERIMENT``, else a fresh name.
        client: the ``trackboard.Client`` to use (default: one from ``TRACKBOARD_*``).
        confusion_matrix: compute the final confusion matrix for classifiers (``id2label``).
        log_model: ``True`` stores the final model (``save_pretrained``) when training ends,
            ``"all"`` every checkpoint folder when it is saved.
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
        confusion_matrix: bool = True,
        log_model: bool | str = False,
        max_samples: int = 100,
        capture: bool | None = None,
    ) -> None:
        if log_model not in LOG_MODEL_CHOICES:
            raise ValueError(f"log_model must be False, True or 'all', got {log_model!r}")
        self._run = TrackedRun(project, experiment, client, framework="transformers", capture=capture)
        self.confusion_matrix = confusion_matrix
        self.log_model = log_model
        self.max_samples = max_samples
        self._training = False
        self._confusion_pending = False  # training ended before any evaluation: do it at the next one

    @property
    def experiment(self) -> Any:
        """The trackboard experiment (opened or created on first use)."""
        return self._run.experiment

    def _is_rank_zero(self, args: TrainingArguments, state: TrainerState, *rest: Any, **kwargs: Any) -> bool:
        return state.is_world_process_zero

    # -- checkpoint state (ExportableState) --------------------------------------------------

    def state(self) -> dict:
        """Saved in ``trainer_state.json`` of every checkpoint: the experiment to continue."""
        return {"args": self._json_args(), "attributes": {"resume_state": self._run.checkpoint_state()}}

    @property
    def resume_state(self) -> dict:
        return self._run.checkpoint_state()

    @resume_state.setter
    def resume_state(self, state: dict) -> None:
        # Set by Trainer when restore_callback_states_from_checkpoint re-creates this callback.
        self._run.resume(state)

    def _json_args(self) -> dict[str, Any]:
        # Trainer may re-create the callback from these (a client object cannot be saved: the
        # re-created callback uses TRACKBOARD_* to find the store).
        choice = self._run.choice
        return {"project": choice.project, "experiment": choice.name if choice.explicit else None,
                "confusion_matrix": self.confusion_matrix, "log_model": self.log_model,
                "max_samples": self.max_samples}

    # -- training ---------------------------------------------------------------------------

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                       model: Any = None, **kwargs: Any) -> None:
        self._training = True  # on every rank: the confusion matrix is computed by all of them
        call = current_call("transformers")
        if call is not None:
            call.listen(self)
        self._begin_training(args, state, control, model=model)

    def training_returned(self) -> None:
        """train() returned: on_train_end has finished the experiment."""

    def training_failed(self, error: BaseException) -> None:
        """train() raised (Ctrl-C included): the points logged so far are stored, the run is FAILED."""
        self._training = False
        self._run.end_on_failure()

    @rank_zero_hook("log hyperparameters")
    def _begin_training(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                        model: Any = None) -> None:
        self._run.resume(_checkpoint_state(state, type(self).__name__))
        self._run.start()
        if state.global_step > 0:  # resumed from a checkpoint: drop what the abandoned attempt logged after it
            self._run.rewind(state.global_step)
        parameters = dict(args.to_dict())
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_dict"):
            parameters["model_config"] = config.to_dict()
        self._run.log_parameters(parameters)
        labels = _id2label(model)
        if labels:
            self._run.log_records([("labelmap", labels, LogType.LABELMAP)])

    @rank_zero_hook("log metrics")
    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        if not logs:
            return
        if "train_runtime" in logs:
            self._run.log_values({k: v for k, v in logs.items() if k in SUMMARY_KEYS})
            logs = {k: v for k, v in logs.items() if k not in SUMMARY_KEYS}
        self._run.log_metrics(logs, state.global_step, epoch_index(state.epoch), exclude=NOT_METRICS)

    def on_evaluate(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    metrics: Mapping[str, Any] | None = None, model: Any = None, eval_dataloader: Any = None,
                    **kwargs: Any) -> None:
        cm = None
        if self._confusion_pending and not self._training:  # the first evaluation after training
            self._confusion_pending = False
            cm = self._confusion(state, model, eval_dataloader)  # every rank: the counts are summed
        self._after_evaluate(args, state, control, metrics=metrics, model=model, cm=cm)

    @rank_zero_hook("log the evaluation")
    def _after_evaluate(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                        metrics: Mapping[str, Any] | None = None, model: Any = None, cm: Any = None) -> None:
        # The metrics themselves were logged by on_log.
        if cm is not None:
            self._log_confusion(model, *cm)
            self._run.flush()
        else:
            self._run.flush_lines()

    @rank_zero_hook("store the checkpoint")
    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if self.log_model != "all":
            return
        folder = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        self._store_folder(folder, folder.name)

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                     model: Any = None, eval_dataloader: Any = None, **kwargs: Any) -> None:
        self._training = False
        cm = self._confusion(state, model, eval_dataloader)  # every rank: the counts are summed
        self._end_training(args, state, control, model=model, cm=cm)

    @rank_zero_hook("finish the experiment")
    def _end_training(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                      model: Any = None, cm: Any = None) -> None:
        # Each step on its own: one failing must not skip the others; the status is set last.
        # SUCCESS, but the experiment stays usable: trainer.predict() metrics still come in.
        try:
            if cm is not None:
                self._run.attempt("log the confusion matrix", self._log_confusion, model, *cm)
            if self.log_model is True and model is not None:
                self._run.attempt("store the model", self._store_model, model)
        finally:
            self._run.finish("SUCCESS")

    def _store_model(self, model: Any) -> None:
        with tempfile.TemporaryDirectory(prefix="trackboard-") as folder:  # ours, removed after
            model.save_pretrained(folder)
            self._store_folder(Path(folder), "model")

    # -- after training ---------------------------------------------------------------------

    @rank_zero_hook("log test metrics")
    def on_predict(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                   metrics: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        if metrics:
            self._run.log_metrics(metrics, state.global_step, epoch_index(state.epoch), exclude=NOT_METRICS)
            self._run.flush()

    # -- confusion matrix -------------------------------------------------------------------

    def _confusion(self, state: TrainerState, model: Any, loader: Any) -> tuple | None:
        """(counts, true ids, predicted ids, scores) over the eval set, or None (not a classifier...)."""
        if not self.confusion_matrix or model is None or not _id2label(model):
            return None
        if loader is None:
            self._confusion_pending = True
            return None
        failed, result = 0, None
        try:
            result = _predict(model, loader, len(_id2label(model)))
        except Exception as error:  # noqa: BLE001 - other ranks still take part in the sum below
            failed = 1
            if state.is_world_process_zero:
                self._run.report("compute the confusion matrix", error)
        return _sum_over_ranks(result, failed, len(_id2label(model)))

    @never_raises("log the confusion matrix")
    def _log_confusion(self, model: Any, cm: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray,
                       scores: np.ndarray | None, metrics: dict[str, float]) -> None:
        """Matrix, label map and evaluation of ``model`` (the best one with load_best_model_at_end),
        every metric from the same pass."""
        names = class_names_for(cm.shape[0], _id2label(model))
        samples = sample_rows(y_true, y_pred, scores, names, self.max_samples)
        self._run.log_records(classification_logs(cm, names, metrics=metrics, samples=samples))

    def _store_folder(self, folder: Path, prefix: str) -> None:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            self._run.store(f"{prefix}/{path.relative_to(folder).as_posix()}", path)


def _checkpoint_state(state: TrainerState, name: str) -> dict | None:
    stored = (state.stateful_callbacks or {}).get(name)
    if isinstance(stored, list):
        stored = stored[0] if stored else None
    if not isinstance(stored, Mapping):
        return None
    return stored.get("attributes", {}).get("resume_state")


def _id2label(model: Any) -> dict[int, str] | None:
    """The label map of a single-label classifier, else None.

    Every config has an ``id2label`` (``LABEL_0``, ``LABEL_1`` by default), so the model's class
    says whether it classifies (``...ForSequenceClassification``, ``...ForTokenClassification``,
    ``...ForImageClassification``...).
    """
    config = getattr(model, "config", None)
    labels = getattr(config, "id2label", None)
    if not labels or "Classification" not in type(model).__name__:
        return None
    if getattr(config, "problem_type", None) in ("regression", "multi_label_classification"):
        return None
    return {int(k): str(v) for k, v in labels.items()}


def _predict(model: Any, loader: Any, num_labels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """True ids, predicted ids and confidences over ``loader`` (labels of -100 are ignored).

    Logits stay on the device until the end: one transfer, not one per batch.
    """
    truths, logits, losses = [], [], []
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        with torch.inference_mode():
            for batch in loader:
                # non_blocking: the copy queues behind the previous batch instead of waiting for it
                batch = {k: v.to(device, non_blocking=True) if hasattr(v, "to") else v for k, v in batch.items()}
                labels = batch.get("labels")
                if labels is None:
                    raise KeyError("eval batches have no 'labels'")
                answer = model(**batch)
                output = answer.logits
                if getattr(answer, "loss", None) is not None:  # the mean over the batch
                    losses.append((answer.loss.detach().float() * len(labels), len(labels)))
                if output.shape[-1] != num_labels:
                    raise ValueError(f"logits have {output.shape[-1]} classes, the config's id2label {num_labels}")
                truths.append(labels.reshape(-1))  # one row per sample, or per token
                logits.append(output.reshape(-1, num_labels))
    finally:
        model.train(was_training)
    loss_sum = float(sum(total for total, _ in losses)) if losses else 0.0
    loss_count = sum(count for _, count in losses)
    if not logits:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), None, loss_sum, loss_count
    y_true, y_pred, scores, _ = align(torch.cat(truths).cpu().numpy(), torch.cat(logits).float().cpu().numpy())
    return y_true, y_pred, scores, loss_sum, loss_count


def _sum_over_ranks(result: tuple | None, failed: int, num_classes: int) -> tuple | None:
    """(counts, true ids, predicted ids, scores, metrics) summed over ranks, or None if one failed."""
    cm = np.zeros((num_classes, num_classes), np.int64)
    loss_sum, loss_count = 0.0, 0
    if result is not None:
        cm = confusion_counts(result[0], result[1], num_classes)
        loss_sum, loss_count = result[3], result[4]
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    if distributed and torch.distributed.get_world_size() > 1:
        counts = torch.as_tensor(np.append(cm.reshape(-1), [failed, loss_sum, loss_count]), dtype=torch.float64)
        if torch.distributed.get_backend() == "nccl":
            counts = counts.cuda()
        torch.distributed.all_reduce(counts)
        counts = counts.cpu().numpy()
        cm = counts[:-3].reshape(num_classes, num_classes).astype(np.int64)
        failed, loss_sum, loss_count = int(counts[-3]), float(counts[-2]), int(counts[-1])
    if failed or result is None:
        return None
    metrics = {"eval_loss": loss_sum / loss_count} if loss_count else {}
    return cm, result[0], result[1], result[2], metrics
