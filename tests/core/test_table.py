"""TABLE: a mapping name -> scalar (nested mappings kept) or {'data', 'rows', 'columns'}."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tbhelpers import assert_refused, assert_same, roundtrip
from trackboard import LogType
from trackboard.errors import InvalidLogError, LogDataTypeError


def test_mapping_of_scalars(experiment):
    data = {"lr": 1e-3, "epochs": 10, "optimizer": "adam", "amsgrad": False, "scheduler": None}
    experiment.log("hp", data, LogType.TABLE)
    assert_same(experiment.get_log("hp").data, data)


def test_nested_mappings_and_lists_are_kept(experiment):
    data = {"model": {"depth": 50, "head": {"dropout": 0.1}}, "betas": [0.9, 0.999], "empty": {}}
    experiment.log("hp", data, "table")
    assert_same(experiment.get_log("hp").data, data)


def test_tuples_become_lists_and_key_order_is_kept(experiment):
    experiment.log("t", {"z": (1, 2), "a": 1, "m": [(1, 2)]}, "table")
    got = experiment.get_log("t").data
    assert list(got) == ["z", "a", "m"]
    assert_same(got, {"z": [1, 2], "a": 1, "m": [[1, 2]]})


def test_numpy_and_torch_cells(experiment):
    experiment.log("t", {
        "a": np.float32(0.5), "b": np.int64(3), "c": np.array([1, 2]), "d": torch.tensor(0.25),
        "e": torch.tensor([[1, 2], [3, 4]]), "f": np.bool_(True), "g": np.str_("s"),
    }, "table")
    assert_same(experiment.get_log("t").data, {
        "a": 0.5, "b": 3, "c": [1, 2], "d": 0.25, "e": [[1, 2], [3, 4]], "f": True, "g": "s",
    })


def test_nan_and_inf_cells_are_kept(experiment):
    experiment.log("t", {"a": math.nan, "b": [math.inf, -math.inf]}, "table")
    got = experiment.get_log("t").data
    assert math.isnan(got["a"]) and got["b"] == [math.inf, -math.inf]


def test_matrix_form(experiment):
    data = {"data": [[1, "a", 0.5], [2, "b", None]], "rows": ["r1", "r2"], "columns": ["id", "name", "score"]}
    experiment.log("m", data, "table")
    assert_same(experiment.get_log("m").data, data)


def test_matrix_form_from_an_array_without_labels(experiment):
    experiment.log("m", {"data": np.arange(6).reshape(2, 3)}, "table")
    assert_same(experiment.get_log("m").data, {"data": [[0, 1, 2], [3, 4, 5]]})


def test_matrix_labels_from_numpy(experiment):
    experiment.log("m", {"data": [[1.0]], "rows": np.array(["r"]), "columns": ("c",)}, "table")
    assert_same(experiment.get_log("m").data, {"data": [[1.0]], "rows": ["r"], "columns": ["c"]})


def test_table_replaces_not_merges(experiment):
    experiment.log("t", {"a": 1, "b": 2}, "table")
    experiment.log("t", {"c": 3}, "table")
    assert experiment.get_log("t").data == {"c": 3}


def test_roundtrip(experiment):
    roundtrip(experiment, "t", {"a": {"b": [1, 2.5, None, "x", True]}}, "TABLE")
    roundtrip(experiment, "m", {"data": [[1, 2]], "columns": ["x", "y"]}, "TABLE")


def test_parameters_at_creation_and_log_parameters(project):
    experiment = project.create_experiment("with-params", parameters={"lr": 0.1, "batch": 32})
    parameters = experiment.get_log("parameters")
    assert parameters.type is LogType.TABLE
    assert parameters.data == {"lr": 0.1, "batch": 32}
    experiment.log_parameters({"batch": 64, "seed": 1})
    assert experiment.get_parameters() == {"lr": 0.1, "batch": 64, "seed": 1}


def test_log_parameters_on_a_fresh_handle_merges(client, project):
    experiment = project.create_experiment("p", parameters={"lr": 0.1})
    experiment.flush()
    fresh = client.get_experiment_by_id(experiment.id)
    fresh.log_parameters({"wd": 0.01})
    assert fresh.get_parameters() == {"lr": 0.1, "wd": 0.01}


def test_get_parameters_without_parameters(experiment):
    assert experiment.get_parameters() == {}


class Opaque:
    pass


REFUSED = {
    "none": None,
    "number": 3,
    "string": "lr=0.1",
    "list": [1, 2],
    "list of pairs": [("lr", 0.1)],
    "empty": {},
    "non-string key": {1: "a"},
    "nested non-string key": {"a": {2: "b"}},
    "object cell": {"a": Opaque()},
    "nested object cell": {"a": {"b": [1, Opaque()]}},
    "complex cell": {"a": 1j},
    "bytes cell": {"a": b"x"},
    "set cell": {"a": {1, 2}},
    "ragged matrix": {"data": [[1, 2], [3]]},
    "3-d matrix array": {"data": np.zeros((2, 2, 2))},
    "rows count": {"data": [[1], [2]], "rows": ["only one"]},
    "columns count": {"data": [[1, 2]], "columns": ["a", "b", "c"]},
    "object in matrix": {"data": [[Opaque()]]},
}


@pytest.mark.parametrize("data", list(REFUSED.values()), ids=list(REFUSED))
def test_refused(experiment, data):
    assert_refused(experiment, "table", data, "TABLE")


def test_error_names_the_nested_key(experiment):
    with pytest.raises(LogDataTypeError) as caught:
        experiment.log("hp", {"model": {"head": Opaque()}}, "table")
    assert "model.head" in str(caught.value)
    with pytest.raises(InvalidLogError) as caught:
        experiment.log("hp", {}, "table")
    assert "empty" in str(caught.value) and "'hp'" in str(caught.value) and "TABLE" in str(caught.value)


def test_refusal_keeps_the_previous_table(experiment):
    experiment.log("t", {"a": 1}, "table")
    assert_refused(experiment, "t", {"a": Opaque()}, "TABLE")
    assert experiment.get_log("t").data == {"a": 1}


def test_bad_parameters_at_creation_leave_nothing(project):
    """A refused create_experiment(parameters=...) is a failed call: nothing may be left behind."""
    with pytest.raises(LogDataTypeError):
        project.create_experiment("bad-params", parameters={"model": Opaque()})
    # Retrying with good parameters must work (no half-created experiment blocks the name).
    experiment = project.create_experiment("bad-params", parameters={"model": "resnet"})
    assert experiment.get_parameters() == {"model": "resnet"}
