"""EVALUATION: {'metrics': {...}} plus optional 'per_class', 'samples' and 'split'."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tbhelpers import assert_refused, assert_same, roundtrip
from trackboard import LogType

FULL = {
    "metrics": {"accuracy": 0.9, "f1": 0.85, "support": 100},
    "per_class": {"cat": {"precision": 0.9, "recall": 0.8}, "dog": {"precision": 0.7, "recall": 1}},
    "samples": [
        {"id": "img-1", "ground_truth": "cat", "prediction": "dog", "score": 0.6},
        {"id": 2, "ground_truth": 1, "prediction": 1, "score": 1, "path": "a.png", "note": None},
    ],
    "split": "val",
}


def test_metrics_only(experiment):
    experiment.log("eval", {"metrics": {"accuracy": 0.9}}, LogType.EVALUATION)
    assert_same(experiment.get_log("eval").data, {"metrics": {"accuracy": 0.9}})


def test_full(experiment):
    experiment.log("eval", FULL, "evaluation")
    assert_same(experiment.get_log("eval").data, FULL)


def test_none_optional_parts_are_dropped(experiment):
    experiment.log("eval", {"metrics": {"a": 1}, "per_class": None, "samples": None, "split": None}, "evaluation")
    assert_same(experiment.get_log("eval").data, {"metrics": {"a": 1}})


def test_numpy_and_torch_numbers(experiment):
    experiment.log("eval", {
        "metrics": {"acc": np.float32(0.5), "n": np.int64(10), "loss": torch.tensor(0.25)},
        "per_class": {np.int64(0): {"recall": torch.tensor(1.0)}},
        "samples": [{"ground_truth": np.int64(1), "prediction": torch.tensor(0), "score": np.float64(0.75)}],
    }, "evaluation")
    assert_same(experiment.get_log("eval").data, {
        "metrics": {"acc": 0.5, "n": 10, "loss": 0.25},
        "per_class": {"0": {"recall": 1.0}},
        "samples": [{"ground_truth": 1, "prediction": 0, "score": 0.75}],
    })


def test_nan_metric_kept(experiment):
    experiment.log("eval", {"metrics": {"auc": math.nan}}, "evaluation")
    assert math.isnan(experiment.get_log("eval").data["metrics"]["auc"])


def test_roundtrip(experiment):
    roundtrip(experiment, "eval", FULL, "EVALUATION")


REFUSED = {
    "none": None,
    "list": [0.9],
    "no metrics": {"split": "val"},
    "unknown key": {"metrics": {}, "confusion": [[1]]},
    "metrics not a mapping": {"metrics": [0.9]},
    "metric not a number": {"metrics": {"acc": "high"}},
    "bool metric": {"metrics": {"acc": True}},
    "non-string metric name": {"metrics": {1: 0.5}},
    "per_class not a mapping": {"metrics": {}, "per_class": [1]},
    "per_class metric not a number": {"metrics": {}, "per_class": {"cat": {"p": "x"}}},
    "per_class value not a mapping": {"metrics": {}, "per_class": {"cat": 0.5}},
    "samples not a list": {"metrics": {}, "samples": {"ground_truth": 1}},
    "sample not a mapping": {"metrics": {}, "samples": [1]},
    "sample without ground truth": {"metrics": {}, "samples": [{"prediction": 1}]},
    "sample without prediction": {"metrics": {}, "samples": [{"ground_truth": 1}]},
    "sample non-string key": {"metrics": {}, "samples": [{"ground_truth": 1, "prediction": 1, 3: 4}]},
    "sample object value": {"metrics": {}, "samples": [{"ground_truth": object(), "prediction": 1}]},
    "sample string score": {"metrics": {}, "samples": [{"ground_truth": 1, "prediction": 1, "score": "high"}]},
    "split not a string": {"metrics": {}, "split": 1},
}


@pytest.mark.parametrize("data", list(REFUSED.values()), ids=list(REFUSED))
def test_refused(experiment, data):
    assert_refused(experiment, "eval", data, "EVALUATION")
