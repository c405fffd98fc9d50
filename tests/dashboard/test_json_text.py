"""The dashboard's JSON text (``server/dashboard/jsontext.py``): orjson for speed, Python's json for
what orjson refuses, and the same values either way."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trackboard.server.dashboard.jsontext import json_text


@pytest.mark.parametrize("data", [
    {"steps": list(range(5)), "values": [0.1, 1e-7, 1.7976931348623157e308, 5e-324, -0.0, 123456789.125]},
    {"name": "précision ✓ 精度", "nested": {"a": [None, True, False, {"b": []}]}},
    {"big": 2**70, "negative": -2**64, "small": 3},  # past 64 bits: written by json
    {"lone surrogate": "a\ud800b"},  # not UTF-8: written by json, as an escape
    {1: "int keys become strings", 2.5: "float keys too"},
])
def test_json_text_reads_back_as_the_data(data):
    assert json.loads(json_text(data)) == json.loads(json.dumps(data))


@pytest.mark.parametrize("big", [None, 2**70])  # 2**70: the whole answer goes through json
def test_numpy_arrays_and_scalars_are_numbers_and_non_finite_values_null(big):
    data = {"steps": np.arange(3), "values": np.array([0.5, np.nan, np.inf, -np.inf]), "n": np.int64(7),
            "x": np.float64(0.1), "gap": np.float64(np.nan), "big": big}
    assert json.loads(json_text(data)) == {"steps": [0, 1, 2], "values": [0.5, None, None, None], "n": 7, "x": 0.1,
                                           "gap": None, "big": big}


def test_what_neither_can_write_is_an_error():
    with pytest.raises(TypeError):
        json_text({"a": object()})
