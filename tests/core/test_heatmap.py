"""HEATMAP: {'categories': [N names], 'values': N x N or (N+1) x (N+1)}."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tbhelpers import assert_refused, assert_same, roundtrip
from trackboard import LogType


def test_square_matrix(experiment):
    data = {"categories": ["cat", "dog"], "values": [[5, 1], [2, 7]]}
    experiment.log("confusion", data, LogType.HEATMAP)
    assert_same(experiment.get_log("confusion").data, data)


def test_matrix_with_fp_fn_row_and_column(experiment):
    data = {"categories": ["cat", "dog"], "values": [[5, 1, 0], [2, 7, 1], [1, 0, 0]]}
    experiment.log("confusion", data, "heatmap")
    assert_same(experiment.get_log("confusion").data, data)


def test_numpy_ints_stay_ints_and_floats_stay_floats(experiment):
    experiment.log("h", {"categories": ["a", "b"], "values": np.array([[1, 2], [3, 4]], dtype=np.int64)}, "heatmap")
    assert_same(experiment.get_log("h").data["values"], [[1, 2], [3, 4]])
    experiment.log("f", {"categories": np.array(["a", "b"]), "values": np.eye(2, dtype=np.float32)}, "heatmap")
    assert_same(experiment.get_log("f").data, {"categories": ["a", "b"], "values": [[1.0, 0.0], [0.0, 1.0]]})


def test_torch_matrix_and_rows_of_arrays(experiment):
    experiment.log("h", {"categories": ["a"], "values": torch.tensor([[0.5]])}, "heatmap")
    assert_same(experiment.get_log("h").data["values"], [[0.5]])
    experiment.log("r", {"categories": ["a", "b"], "values": [np.array([1, 2]), [3, 4]]}, "heatmap")
    assert_same(experiment.get_log("r").data["values"], [[1, 2], [3, 4]])


def test_nan_kept(experiment):
    experiment.log("h", {"categories": ["a"], "values": [[math.nan]]}, "heatmap")
    assert math.isnan(experiment.get_log("h").data["values"][0][0])


def test_roundtrip(experiment):
    roundtrip(experiment, "h", {"categories": ["a", "b"], "values": [[1, 0.5], [math.inf, 2]]}, "HEATMAP")


REFUSED = {
    "none": None,
    "list": [[1]],
    "missing values": {"categories": ["a"]},
    "missing categories": {"values": [[1]]},
    "extra key": {"categories": ["a"], "values": [[1]], "title": "x"},
    "empty categories": {"categories": [], "values": []},
    "non-string category": {"categories": [1, 2], "values": [[1, 2], [3, 4]]},
    "too many rows": {"categories": ["a"], "values": [[1, 2, 3], [1, 2, 3], [1, 2, 3]]},
    "too few rows": {"categories": ["a", "b", "c"], "values": [[1, 2], [3, 4]]},
    "not square": {"categories": ["a", "b"], "values": [[1, 2], [3, 4, 5]]},
    "1-d values": {"categories": ["a", "b"], "values": [1, 2]},
    "3-d array": {"categories": ["a"], "values": np.zeros((1, 1, 1))},
    "bool values": {"categories": ["a"], "values": [[True]]},
    "bool array": {"categories": ["a"], "values": np.array([[True]])},
    "string values": {"categories": ["a"], "values": [["1"]]},
    "values not a list": {"categories": ["a"], "values": "1"},
}


@pytest.mark.parametrize("data", list(REFUSED.values()), ids=list(REFUSED))
def test_refused(experiment, data):
    assert_refused(experiment, "confusion", data, "HEATMAP")
