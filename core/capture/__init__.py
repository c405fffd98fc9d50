"""Context capture: which machine and code a run used, and its system metrics while it is open.

``start_capture(experiment, capture)`` runs when an experiment is created (by the API or an
adapter). On by default; ``capture=False`` or ``TRACKBOARD_CAPTURE=0`` turns all of it off, and
``TRACKBOARD_SYSTEM_INTERVAL`` (seconds, default 10, 0 = off) paces the system metrics. Nothing
here can fail a run: a part that fails is left out with one ``TrackingWarning``.
"""

from __future__ import annotations

from typing import Any

from .context import DIFF, ENVIRONMENT_LOG, REQUIREMENTS
from .sampler import PREFIX, Sampler
from .settings import capture_enabled, system_interval
from .warn_once import warn_once as _warn_once


def start_capture(experiment: Any, capture: bool | None = None) -> Sampler | None:
    """Record ``experiment``'s context and sample system metrics on a daemon thread (None if off)."""
    from ..disabled import DisabledBackend

    if not capture_enabled(capture) or isinstance(experiment._backend, DisabledBackend):
        return None
    _import_what_the_thread_needs()
    try:
        return Sampler(experiment, system_interval()).start()
    except Exception as error:  # noqa: BLE001 - e.g. no thread can be started
        _warn_once("start", f"could not start capturing the context: {type(error).__name__}: {error}")
        return None


def _import_what_the_thread_needs() -> None:
    """Import the capture thread's libraries here, on the caller's thread (once per process).

    Two reasons. The first system sample comes at once: imported on the new thread, these
    libraries would take the GIL from the training loop for a while, and a short fit could end
    before any sample. And a Ctrl-C can come at any moment, also while the thread is still
    importing: a module first loaded after an uncaught KeyboardInterrupt makes CPython exit with
    status 1 instead of dying from SIGINT (a shell sees 1, not 130: "interrupted" is lost).
    """
    for module in ("psutil", "pynvml", "email.parser"):  # email.parser: importlib.metadata's
        try:
            __import__(module)
        except Exception:  # noqa: BLE001 - absent or broken: that monitor stays quiet (monitors/)
            pass


__all__ = ["start_capture", "Sampler", "capture_enabled", "system_interval", "ENVIRONMENT_LOG",
           "REQUIREMENTS", "DIFF", "PREFIX"]
