"""BAR: {'x': [labels], 'y': [numbers]} of equal length."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tbhelpers import assert_refused, assert_same, roundtrip
from trackboard import LogType


def test_labels_and_numbers(experiment):
    data = {"x": ["cat", "dog", "bird"], "y": [10, 2.5, 0]}
    experiment.log("counts", data, LogType.BAR)
    assert_same(experiment.get_log("counts").data, data)


def test_numeric_labels_and_tuples(experiment):
    experiment.log("b", {"x": (1, 2.5), "y": (3, 4)}, "bar")
    assert_same(experiment.get_log("b").data, {"x": [1, 2.5], "y": [3, 4]})


def test_numpy_and_torch(experiment):
    experiment.log("b", {"x": np.array(["a", "b"]), "y": np.array([1.5, 2.5], dtype=np.float32)}, "bar")
    assert_same(experiment.get_log("b").data, {"x": ["a", "b"], "y": [1.5, 2.5]})
    experiment.log("c", {"x": np.arange(3), "y": torch.tensor([1, 2, 3])}, "bar")
    assert_same(experiment.get_log("c").data, {"x": [0, 1, 2], "y": [1, 2, 3]})
    experiment.log("d", {"x": ["a"], "y": [np.float64(0.5)]}, "bar")
    assert_same(experiment.get_log("d").data, {"x": ["a"], "y": [0.5]})


def test_nan_kept(experiment):
    experiment.log("b", {"x": ["a", "b"], "y": [math.nan, math.inf]}, "bar")
    y = experiment.get_log("b").data["y"]
    assert math.isnan(y[0]) and y[1] == math.inf


def test_latest_wins(experiment):
    experiment.log("b", {"x": ["a"], "y": [1]}, "bar")
    experiment.log("b", {"x": ["b"], "y": [2]}, "bar")
    assert experiment.get_log("b").data == {"x": ["b"], "y": [2]}


def test_roundtrip(experiment):
    roundtrip(experiment, "b", {"x": ["a", 1], "y": [1, 2.5]}, "BAR")


REFUSED = {
    "none": None,
    "list": [1, 2],
    "missing y": {"x": ["a"]},
    "missing x": {"y": [1]},
    "extra key": {"x": ["a"], "y": [1], "z": [2]},
    "unequal lengths": {"x": ["a", "b"], "y": [1]},
    "empty": {"x": [], "y": []},
    "x not a list": {"x": "ab", "y": [1, 2]},
    "y not a list": {"x": ["a"], "y": 1},
    "none label": {"x": [None], "y": [1]},
    "bool label": {"x": [True], "y": [1]},
    "list label": {"x": [["a", "b"]], "y": [1]},
    "string value": {"x": ["a"], "y": ["1"]},
    "bool value": {"x": ["a"], "y": [True]},
    "none value": {"x": ["a"], "y": [None]},
    "2-d y": {"x": ["a", "b"], "y": [[1, 2], [3, 4]]},
}


@pytest.mark.parametrize("data", list(REFUSED.values()), ids=list(REFUSED))
def test_refused(experiment, data):
    assert_refused(experiment, "bars", data, "BAR")


def test_message_says_what_is_wrong(experiment):
    error = assert_refused(experiment, "bars", {"x": ["a", "b"], "y": [1]}, "BAR")
    assert "2" in str(error) and "1" in str(error)
    error = assert_refused(experiment, "bars", {"x": ["a"], "y": ["high"]}, "BAR")
    assert "y[0]" in str(error)
