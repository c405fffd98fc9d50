"""One TrackingWarning per kind of problem per process; repeats go to the log at debug level.

A monitor that fails (no permission, a driver gone) fails the same way every interval and in
every experiment of a sweep: the user hears about it once.
"""

from __future__ import annotations

import logging
import threading
import warnings

from ..errors import TrackingWarning

logger = logging.getLogger("trackboard.capture")
_warned: set[str] = set()
_lock = threading.Lock()


def warn_once(key: str, message: str) -> None:
    """Warn ``message`` the first time ``key`` is seen in this process."""
    with _lock:
        first = key not in _warned
        _warned.add(key)
    if first:
        warnings.warn(f"trackboard: {message}", TrackingWarning, stacklevel=2)
    else:
        logger.debug("trackboard: %s", message)
