"""LABELMAP: {id: name} or a list of names -> {'0': 'cat', '1': 'dog'}."""

from __future__ import annotations

import numpy as np
import pytest

from tbhelpers import assert_refused, assert_same, roundtrip
from trackboard import LogType


def test_mapping_of_int_ids(experiment):
    experiment.log("labelmap", {0: "cat", 1: "dog"}, LogType.LABELMAP)
    assert_same(experiment.get_log("labelmap").data, {"0": "cat", "1": "dog"})


def test_list_and_tuple_of_names(experiment):
    experiment.log("labelmap", ["cat", "dog"], "labelmap")
    assert_same(experiment.get_log("labelmap").data, {"0": "cat", "1": "dog"})
    experiment.log("other", ("a",), "labelmap")
    assert_same(experiment.get_log("other").data, {"0": "a"})


def test_string_and_numpy_ids(experiment):
    experiment.log("lm", {"7": "seven", np.int64(3): "three"}, "labelmap")
    assert_same(experiment.get_log("lm").data, {"7": "seven", "3": "three"})


def test_roundtrip(experiment):
    roundtrip(experiment, "lm", {"0": "cat", "5": "dog"}, "LABELMAP")


REFUSED = {
    "none": None,
    "number": 3,
    "string": "cat",
    "empty mapping": {},
    "empty list": [],
    "non-string name": {0: 1},
    "none name": ["cat", None],
    "bool id": {True: "yes"},
    "float id": {1.5: "x"},
    "tuple id": {(1, 2): "x"},
}


@pytest.mark.parametrize("data", list(REFUSED.values()), ids=list(REFUSED))
def test_refused(experiment, data):
    assert_refused(experiment, "labelmap", data, "LABELMAP")


def test_ids_that_collide_are_refused(experiment):
    # 0 and "0" are the same id once canonical: silently keeping one of the names loses data.
    assert_refused(experiment, "labelmap", {0: "cat", "0": "dog"}, "LABELMAP")
