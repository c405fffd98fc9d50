"""A classifier's final evaluation: confusion matrix (scikit-learn), label map and metrics.

The adapters collect true and predicted class ids their own way (a validation dataloader, Keras
``validation_data``, a Hugging Face eval dataloader); everything after that is here, so the three
log the same three records:

- ``labelmap`` (LABELMAP): class id -> name;
- ``confusion_matrix`` (HEATMAP): rows are true classes, columns predicted ones (scikit-learn's
  orientation), cells are counts;
- ``evaluation`` (EVALUATION): accuracy, macro precision / recall / F1, per-class metrics, a
  sample of predictions (errors first) and the framework's own final validation metrics.

The confusion matrix is computed first and the metrics are derived from it, so matrices computed
on several ranks can be summed before anything is logged.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from trackboard import LogType


def class_ids(outputs: Any) -> np.ndarray:
    """Predicted (or true) class ids from class ids, one-hot rows, scores or logits.

    Rows of 2+ scores take their argmax; a single score per sample is a binary classifier's
    probability (or logit, when outside [0, 1]) of class 1.

    >>> class_ids(np.array([[0.1, 0.9], [0.8, 0.2]])).tolist()
    [1, 0]
    >>> class_ids(np.array([0.2, 0.7])).tolist(), class_ids([[-1.5], [2.0]]).tolist()
    ([0, 1], [0, 1])
    >>> class_ids([2, 0, 1]).tolist()
    [2, 0, 1]
    """
    array = np.asarray(outputs)
    if array.ndim >= 2 and array.shape[-1] > 1:
        return array.argmax(axis=-1).reshape(-1)
    array = array.reshape(-1)
    if array.dtype.kind in "iub":
        return array.astype(np.int64)
    if array.size and array.min() >= 0 and array.max() > 1 and np.all(np.mod(array, 1) == 0):
        return array.astype(np.int64)  # float-typed class ids
    threshold = 0.5 if array.size == 0 or (array.min() >= 0 and array.max() <= 1) else 0.0
    return (array > threshold).astype(np.int64)


Aligned = tuple[np.ndarray, np.ndarray, np.ndarray | None, int]  # true ids, predicted ids, confidences, classes


def align(targets: Any, outputs: Any, ignore_index: int = -100) -> Aligned:
    """True ids, predicted ids, confidences and the number of classes the outputs can tell apart.

    ``targets`` are ids (any shape, ``ignore_index`` skipped, as for padded tokens) or one-hot
    rows; ``outputs`` are ids, one score per sample (binary) or a row of scores per target.

    >>> y_true, y_pred, scores, n = align([[0, 1, -100]], [[[2.0, 0.1], [0.3, 0.9], [5.0, 0.0]]])
    >>> y_true.tolist(), y_pred.tolist(), n
    ([0, 1], [0, 1], 2)
    >>> align(np.eye(3)[[2, 0]], [[0.1, 0.2, 0.7], [0.8, 0.1, 0.1]])[:2]
    (array([2, 0]), array([2, 0]))
    """
    targets, outputs = np.asarray(targets), np.asarray(outputs)
    if outputs.ndim >= 2 and outputs.shape[-1] > 1 and targets.shape == outputs.shape[:-1]:
        targets, outputs = targets.reshape(-1), outputs.reshape(-1, outputs.shape[-1])
    elif outputs.ndim >= 2 and outputs.shape[-1] > 1:
        outputs = outputs.reshape(len(outputs), -1)
    y_true = class_ids(targets)
    if targets.ndim <= 1:  # ids: drop the ignored ones (one-hot rows have none)
        keep = targets.reshape(-1) != ignore_index
        y_true, outputs = y_true[keep], outputs[keep]
    y_pred = class_ids(outputs)
    if outputs.ndim >= 2 and outputs.shape[-1] > 1:
        num_classes = outputs.shape[-1]
    elif outputs.dtype.kind == "f" and not np.all(np.mod(outputs, 1) == 0):
        num_classes = 2  # one score per sample: a binary classifier
    else:
        num_classes = 0  # ids: as many classes as are seen
    num_classes = max(num_classes, int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1)
    return y_true, y_pred, prediction_scores(outputs), num_classes


def confusion_counts(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """The ``num_classes`` x ``num_classes`` confusion matrix (rows: true class), by scikit-learn.

    >>> confusion_counts([0, 1, 1, 2], [0, 1, 2, 2], 3).tolist()
    [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    from sklearn.metrics import confusion_matrix

    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if y_true.size == 0:
        return np.zeros((num_classes, num_classes), dtype=np.int64)
    return confusion_matrix(y_true, y_pred, labels=np.arange(num_classes)).astype(np.int64)


def class_names_for(num_classes: int, names: Sequence[str] | Mapping[Any, str] | None = None) -> list[str]:
    """``num_classes`` display names: the given ones (a list or an id -> name map), ids for the rest.

    >>> class_names_for(3, ["cat", "dog"])
    ['cat', 'dog', '2']
    >>> class_names_for(2, {0: "neg", "1": "pos"})
    ['neg', 'pos']
    """
    if names is None:
        given: dict[int, str] = {}
    elif isinstance(names, Mapping):
        given = {int(key): str(name) for key, name in names.items()}
    else:
        given = {i: str(name) for i, name in enumerate(names)}
    count = max(num_classes, max(given, default=-1) + 1)
    return [given.get(i, str(i)) for i in range(count)]


def metrics_from_confusion(
    cm: np.ndarray, names: Sequence[str]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Overall and per-class metrics of a confusion matrix (zero where a class has no support).

    >>> overall, per_class = metrics_from_confusion(np.array([[3, 1], [0, 4]]), ["a", "b"])
    >>> overall["accuracy"], per_class["a"]["recall"], per_class["b"]["precision"]
    (0.875, 0.75, 0.8)
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    total = cm.sum()
    present = support > 0  # macro averages over the classes that occur, like scikit-learn's report
    overall = {
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "precision_macro": float(precision[present].mean()) if present.any() else 0.0,
        "recall_macro": float(recall[present].mean()) if present.any() else 0.0,
        "f1_macro": float(f1[present].mean()) if present.any() else 0.0,
        "samples": int(total),
    }
    per_class = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
    }
    return overall, per_class


def sample_rows(
    y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None, names: Sequence[str], limit: int,
    ids: np.ndarray | None = None,
) -> list[dict]:
    """Up to ``limit`` per-sample rows for the EVALUATION sample browser, misclassified ones first.

    A row's ``id`` is ``ids[i]`` (the sample's index in the dataset) when given, else its position.

    >>> sample_rows(np.array([0, 1, 1]), np.array([0, 0, 1]), None, ["a", "b"], 2)
    [{'id': 1, 'ground_truth': 'b', 'prediction': 'a'}, {'id': 0, 'ground_truth': 'a', 'prediction': 'a'}]
    """
    if limit <= 0 or len(y_true) == 0:
        return []
    wrong = np.flatnonzero(y_true != y_pred)
    right = np.flatnonzero(y_true == y_pred)
    chosen = np.concatenate([wrong, right])[:limit]
    rows = []
    for i in chosen.tolist():
        row: dict[str, Any] = {"id": i if ids is None else int(ids[i]), "ground_truth": names[y_true[i]], "prediction": names[y_pred[i]]}
        if scores is not None:
            row["score"] = float(scores[i])
        rows.append(row)
    return rows


def prediction_scores(outputs: Any) -> np.ndarray | None:
    """The confidence of each predicted class: softmax of logits, or the probabilities as given.

    >>> prediction_scores(np.array([[0.25, 0.75]])).tolist()
    [0.75]
    >>> [round(s, 3) for s in prediction_scores(np.array([[0.0, 2.0]])).tolist()]
    [0.881]
    """
    array = np.asarray(outputs, dtype=np.float64)
    if array.ndim < 2 or array.shape[-1] < 2:
        return None
    array = array.reshape(-1, array.shape[-1])
    looks_like_probabilities = array.min() >= 0 and np.allclose(array.sum(axis=-1), 1.0, atol=1e-3)
    if not looks_like_probabilities:
        shifted = np.exp(array - array.max(axis=-1, keepdims=True))
        array = shifted / shifted.sum(axis=-1, keepdims=True)
    return array.max(axis=-1)


def classification_logs(
    cm: np.ndarray,
    class_names: Sequence[str] | Mapping[Any, str] | None = None,
    *,
    metrics: Mapping[str, Any] | None = None,
    samples: list[dict] | None = None,
    split: str = "validation",
) -> list[tuple[str, Any, LogType]]:
    """The ``labelmap``, ``confusion_matrix`` and ``evaluation`` records for a confusion matrix.

    ``metrics`` are the framework's own final metrics (``val_loss``...), added to the computed ones.

    >>> [(name, kind.value) for name, _, kind in classification_logs(np.eye(2, dtype=int), ["a", "b"])]
    [('labelmap', 'LABELMAP'), ('confusion_matrix', 'HEATMAP'), ('evaluation', 'EVALUATION')]
    """
    cm = np.asarray(cm, dtype=np.int64)
    names = class_names_for(cm.shape[0], class_names)
    if len(names) > cm.shape[0]:  # more names than classes seen: pad the matrix, keep every name
        padded = np.zeros((len(names), len(names)), dtype=np.int64)
        padded[: cm.shape[0], : cm.shape[1]] = cm
        cm = padded
    overall, per_class = metrics_from_confusion(cm, names)
    extra = {name: float(value) for name, value in (metrics or {}).items() if _is_number(value)}
    evaluation: dict[str, Any] = {"metrics": {**extra, **overall}, "per_class": per_class, "split": split}
    if samples:
        evaluation["samples"] = samples
    return [
        ("labelmap", names, LogType.LABELMAP),
        ("confusion_matrix", {"categories": names, "values": cm}, LogType.HEATMAP),
        ("evaluation", evaluation, LogType.EVALUATION),
    ]


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, (str, bytes))
