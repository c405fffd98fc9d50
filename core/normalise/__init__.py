"""One normaliser per log type, behind one table: ``normalise(name, type, data)``.

Each normaliser turns every accepted input into the canonical form that is stored, sent over the
wire and returned by ``get_log``; a rejected input raises before anything is queued.
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import InvalidLogError, LogDataTypeError
from ..logtype import LogType
from .charts import normalise_bar, normalise_heatmap
from .evaluation import normalise_evaluation
from .image import normalise_image
from .line import normalise_line
from .scalars import normalise_labelmap, normalise_table, normalise_value
from .text import check_text

_IMAGE = LogType.IMAGE  # (a LogType.X lookup costs ~75 ns)

NORMALISERS: dict[LogType, Callable[[Any], Any]] = {
    LogType.VALUE: normalise_value,
    LogType.LINE: normalise_line,
    LogType.TABLE: normalise_table,
    LogType.BAR: normalise_bar,
    LogType.HEATMAP: normalise_heatmap,
    LogType.LABELMAP: normalise_labelmap,
    LogType.EVALUATION: normalise_evaluation,
}


def normalise(name: str, log_type: LogType, data: Any) -> Any:
    """The canonical form of ``data`` for a log ``name`` of ``log_type``.

    >>> normalise("accuracy", LogType.VALUE, 0.5)
    0.5
    """
    try:
        if log_type is _IMAGE:
            return normalise_image(data, name)
        return NORMALISERS[log_type](data)
    except (InvalidLogError, LogDataTypeError) as error:
        raise type(error)(f"{log_type.value} {name!r}: {error}") from None
    except OverflowError:  # an int too large for a float64
        raise InvalidLogError(f"{log_type.value} {name!r}: a number is too large to store as a float") from None
    except RecursionError:
        raise InvalidLogError(f"{log_type.value} {name!r}: data is nested too deeply") from None


def check_name(name: Any, what: str = "a log name") -> str:
    """Names (of logs, experiments, projects) are non-empty strings of at most 256 characters,
    without NUL or lone surrogates."""
    if not isinstance(name, str):
        raise LogDataTypeError(f"{what} must be a string, got {type(name).__name__}")
    if not name or len(name) > 256:
        raise InvalidLogError(f"{what} must have 1 to 256 characters, got {len(name)}")
    return check_text(name, what, nul=False)


__all__ = ["NORMALISERS", "normalise", "check_name", "check_text"]
