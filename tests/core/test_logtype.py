"""LogType: a string enum of eight members, parsed from members or case-insensitive names."""

from __future__ import annotations

import pytest

from trackboard import LogType, TrackboardError
from trackboard.errors import UnknownLogTypeError

NAMES = ["VALUE", "IMAGE", "LINE", "TABLE", "BAR", "HEATMAP", "LABELMAP", "EVALUATION"]


def test_eight_string_members():
    assert [member.value for member in LogType] == NAMES
    for member in LogType:
        assert isinstance(member, str)
        assert str(member) == member.value
        assert LogType(member.value) is member


@pytest.mark.parametrize("member", list(LogType))
def test_parse_member_is_identity(member):
    assert LogType.parse(member) is member


@pytest.mark.parametrize("text", ["line", "LINE", "Line", "lInE", " line ", "line\n"])
def test_parse_is_case_insensitive(text):
    assert LogType.parse(text) is LogType.LINE


@pytest.mark.parametrize("name", NAMES)
def test_parse_every_lowercase_name(name):
    assert LogType.parse(name.lower()) is LogType[name]


@pytest.mark.parametrize("bad", ["lines", "", "scalar", "VALUE2", "IMAGES"])
def test_unknown_name_is_refused_with_the_choices(bad):
    with pytest.raises(UnknownLogTypeError) as caught:
        LogType.parse(bad)
    error = caught.value
    assert isinstance(error, TrackboardError) and isinstance(error, ValueError)
    assert repr(bad) in str(error)
    for name in NAMES:
        assert name in str(error)


@pytest.mark.parametrize("bad", [None, 3, 2.5, b"LINE", ["LINE"], {"LINE": 1}, {"LINE"}, object()])
def test_non_string_type_is_a_trackboard_error(bad):
    # Unhashable values (a list, a dict) must not escape as a bare TypeError from the lookup.
    with pytest.raises(UnknownLogTypeError):
        LogType.parse(bad)


def test_log_accepts_enum_and_any_case(experiment):
    experiment.log("a", 1.0, LogType.VALUE)
    experiment.log("b", 2.0, "value")
    experiment.log("c", 3.0, "Value")
    experiment.log("d", [1.0, 2.0], "line")
    assert experiment.get_log("a").type is LogType.VALUE
    assert experiment.get_log("b").type is LogType.VALUE
    assert experiment.get_log("c").data == 3.0
    assert experiment.get_log("d").type is LogType.LINE


def test_log_with_unknown_type_stores_nothing(experiment):
    with pytest.raises(UnknownLogTypeError):
        experiment.log("a", 1.0, "scalar")
    experiment.flush()
    assert experiment.list_logs() == []


def test_list_logs_filters_by_type_in_any_case(experiment):
    experiment.log("v", 1, LogType.VALUE)
    experiment.log("l", [1, 2], LogType.LINE)
    experiment.log("t", {"a": 1}, LogType.TABLE)
    assert [log.name for log in experiment.list_logs(type="line")] == ["l"]
    assert [log.name for log in experiment.list_logs(type=LogType.TABLE)] == ["t"]
    assert {log.name for log in experiment.list_logs()} == {"v", "l", "t"}
    with pytest.raises(UnknownLogTypeError):
        experiment.list_logs(type="nope")
