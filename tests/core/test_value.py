"""VALUE: one scalar (int, float, bool, str); the latest wins."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tbhelpers import assert_refused, assert_same, roundtrip
from trackboard import LogType
from trackboard.errors import LogDataTypeError, NotFoundError


@pytest.mark.parametrize(
    "data, expected",
    [
        (0.95, 0.95),
        (3, 3),
        (-7, -7),
        (2**100, 2**100),
        (True, True),
        (False, False),
        ("resnet50", "resnet50"),
        ("", ""),
        ("héllo ☃ \u2028 \"quoted\"", "héllo ☃ \u2028 \"quoted\""),
        (1e-310, 1e-310),
        (np.float64(0.25), 0.25),
        (np.float32(0.5), 0.5),
        (np.float16(1.5), 1.5),
        (np.int64(42), 42),
        (np.int8(-3), -3),
        (np.uint64(2**63), 2**63),
        (np.bool_(True), True),
        (np.str_("cat"), "cat"),
        (np.array(0.75), 0.75),
        (np.array(7), 7),
        (torch.tensor(0.5), 0.5),
        (torch.tensor(3), 3),
        (torch.tensor(True), True),
        (torch.tensor(2.0, requires_grad=True), 2.0),
        (torch.tensor(1.5, dtype=torch.bfloat16), 1.5),
        (torch.tensor(0.5, dtype=torch.float16), 0.5),
    ],
)
def test_accepted_scalars(experiment, data, expected):
    experiment.log("v", data, LogType.VALUE)
    got = experiment.get_log("v")
    assert got.type is LogType.VALUE
    assert_same(got.data, expected)


@pytest.mark.parametrize("special", [math.nan, math.inf, -math.inf, np.float32("nan"), torch.tensor(float("-inf"))])
def test_nan_and_inf_are_kept(experiment, special):
    experiment.log("v", special, "VALUE")
    got = experiment.get_log("v").data
    expected = float(special)
    assert isinstance(got, float)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


def test_latest_wins(experiment):
    for value in (0.1, 0.2, 0.3):
        experiment.log("accuracy", value, LogType.VALUE)
    assert experiment.get_log("accuracy").data == 0.3
    experiment.log("accuracy", "done", LogType.VALUE)
    assert experiment.get_log("accuracy").data == "done"


def test_roundtrip(experiment):
    for data in (1, 1.5, True, "x", math.nan, -math.inf):
        roundtrip(experiment, "v", data, "VALUE")


def test_bool_is_not_turned_into_int(experiment):
    experiment.log("flag", True, "VALUE")
    assert experiment.get_log("flag").data is True


class Opaque:
    pass


@pytest.mark.parametrize(
    "data",
    [
        None,
        [1, 2],
        (1, 2),
        {"a": 1},
        {1, 2},
        Opaque(),
        1 + 2j,
        np.complex128(1 + 2j),
        np.array([1.0, 2.0]),
        np.zeros((2, 2)),
        torch.tensor([1.0, 2.0]),
    ],
    ids=lambda value: type(value).__name__,
)
def test_refused(experiment, data):
    assert_refused(experiment, "v", data, "VALUE")


def test_refusal_keeps_the_previous_value(experiment):
    experiment.log("v", 1.5, "VALUE")
    assert_refused(experiment, "v", None, "VALUE", error=LogDataTypeError)
    assert experiment.get_log("v").data == 1.5


def test_missing_log_is_not_found(experiment):
    with pytest.raises(NotFoundError) as caught:
        experiment.get_log("never")
    assert isinstance(caught.value, LookupError)
    assert "'never'" in str(caught.value)
