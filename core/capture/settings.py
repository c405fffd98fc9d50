"""Whether to capture, and how often to sample: arguments win over ``TRACKBOARD_*`` variables.

A bad value is a warning, never an error: a typo in an environment variable must not stop training.
"""

from __future__ import annotations

import os

from .warn_once import warn_once

ENV_CAPTURE = "TRACKBOARD_CAPTURE"
ENV_INTERVAL = "TRACKBOARD_SYSTEM_INTERVAL"
DEFAULT_INTERVAL_S = 10.0
_OFF = ("0", "false", "no", "off")
_ON = ("1", "true", "yes", "on", "")


def capture_enabled(capture: bool | None = None) -> bool:
    """``capture`` when given, else ``TRACKBOARD_CAPTURE`` (on unless 0/false/no/off).

    >>> capture_enabled(False)
    False
    """
    if capture is not None:
        return bool(capture)
    value = os.environ.get(ENV_CAPTURE, "1").strip().lower()
    if value in _OFF:
        return False
    if value not in _ON:
        warn_once(f"{ENV_CAPTURE}={value}", f"{ENV_CAPTURE} must be 0 or 1, got {value!r}; capturing")
    return True


def system_interval() -> float:
    """Seconds between two samples of the system metrics (``TRACKBOARD_SYSTEM_INTERVAL``; 0: none).

    >>> system_interval() > 0 or system_interval() == 0
    True
    """
    value = os.environ.get(ENV_INTERVAL)
    if value is None or not value.strip():
        return DEFAULT_INTERVAL_S
    try:
        interval = float(value)
    except ValueError:
        interval = -1.0
    if not interval >= 0 or interval == float("inf"):  # NaN too
        warn_once(f"{ENV_INTERVAL}={value}", f"{ENV_INTERVAL} must be a number of seconds >= 0 (0: off), "
                  f"got {value!r}; sampling every {DEFAULT_INTERVAL_S:g} s")
        return DEFAULT_INTERVAL_S
    return interval
