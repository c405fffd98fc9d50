"""The eight kinds of log an experiment holds."""

from __future__ import annotations

from enum import Enum

from .errors import UnknownLogTypeError


class LogType(str, Enum):
    """What a log holds; decides how its data is validated, stored and shown.

    >>> LogType.parse("line") is LogType.LINE
    True
    """

    VALUE = "VALUE"
    IMAGE = "IMAGE"
    LINE = "LINE"
    TABLE = "TABLE"
    BAR = "BAR"
    HEATMAP = "HEATMAP"
    LABELMAP = "LABELMAP"
    EVALUATION = "EVALUATION"

    def __str__(self) -> str:
        return self.value

    # Hashed as its name in C (Enum's own __hash__ is Python code): every log() looks a type up.
    __hash__ = str.__hash__

    @classmethod
    def parse(cls, value: "LogType | str") -> "LogType":
        """The LogType for an enum member or a case-insensitive name."""
        try:
            found = _LOOKUP.get(value)
        except TypeError:  # unhashable: a list, a dict...
            found = None
        if found is not None:
            return found
        if isinstance(value, str):
            found = _LOOKUP.get(value.strip().upper())
            if found is not None:
                return found
        names = ", ".join(member.value for member in cls)
        raise UnknownLogTypeError(f"unknown log type {value!r}; expected one of {names}")


# Keyed by member and by upper-case name, so parse() of an enum member is one dict lookup.
_LOOKUP: dict = {**{m: m for m in LogType}, **{m.value: m for m in LogType}}
