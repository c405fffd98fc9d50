"""Every run ends in a true status, however the program ends.

The experiments this process runs (created here, or reopened) are kept in ``_open`` until they
are closed, and their backend's heartbeat beats for them. When the program dies:

- an uncaught exception or KeyboardInterrupt (``sys.excepthook``, chained) closes them FAILED;
- SIGTERM (``timeout``, Slurm, Kubernetes) closes them FAILED, then the signal does what it
  would have done without trackboard: the handler that was there is called, or the default
  action (termination) is taken. A handler that composes ours (Lightning's) decides alone;
- a normal interpreter exit closes them SUCCESS (as W&B and MLflow do for unfinished runs);
- SIGKILL and the like leave them RUNNING: readers see CRASHED (``core/status.py``).

Before experiments close as FAILED, the adapters' runs (``watch``) log the points they still
buffer, so everything logged before the failure is stored.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .experiment import Experiment

logger = logging.getLogger("trackboard")

FAIL_FLUSH_TIMEOUT_S = 10.0  # a dying process waits at most this long per experiment
SIGNAL_GRACE_S = FAIL_FLUSH_TIMEOUT_S + 5.0  # then SIGTERM ends the program whatever is left
EXIT_FLUSH_TIMEOUT_S = 1.0  # at exit the backends were flushed just before (backend.py's exit hook)


class Watched(Protocol):
    def end_on_failure(self) -> None: ...


_open: dict[str, "Experiment"] = {}
_watched: "weakref.WeakSet[Any]" = weakref.WeakSet()
_lock = threading.RLock()
_hooks_installed = False
_sigterm_installed = False
_previous_excepthook = sys.excepthook
_previous_sigterm: Any = signal.SIG_DFL
_interrupted = False  # an uncaught KeyboardInterrupt is ending the program


def started(experiment: "Experiment") -> None:
    """``experiment`` runs in this process from now on (created, or reopened)."""
    with _lock:
        _open[experiment.id] = experiment
    heartbeat = getattr(experiment._backend, "heartbeat", None)
    if heartbeat is not None:
        heartbeat.add(experiment.id)
    _install_hooks()


def finished(experiment: "Experiment") -> None:
    """``experiment`` was closed: no more heartbeat, nothing to do at exit."""
    with _lock:
        _open.pop(experiment.id, None)
    heartbeat = getattr(experiment._backend, "heartbeat", None)
    if heartbeat is not None:
        heartbeat.discard(experiment.id)


def forget_backend(backend: Any) -> None:
    """The backend is closed: its experiments are no longer this process's to close."""
    with _lock:
        for experiment_id in [i for i, e in _open.items() if e._backend is backend]:
            del _open[experiment_id]


def watch(run: Watched) -> None:
    """Call ``run.end_on_failure()`` (flush buffered points, set FAILED) if the program dies."""
    _watched.add(run)


def unwatch(run: Watched) -> None:
    _watched.discard(run)


def fail_open_runs() -> None:
    """Close everything this process runs as FAILED (adapters' runs first, with their points)."""
    for run in list(_watched):
        try:
            run.end_on_failure()
        except Exception as error:  # noqa: BLE001 - the program is dying: never add a traceback
            logger.debug("trackboard: could not close a run as FAILED: %s", error)
    _close_all("FAILED")


def _close_all(status: str, timeout: float = FAIL_FLUSH_TIMEOUT_S) -> None:
    with _lock:
        experiments = list(_open.values())
    for experiment in experiments:
        try:
            experiment.close(status, timeout=timeout)
        except Exception as error:  # noqa: BLE001
            logger.debug("trackboard: could not close %r as %s: %s", experiment, status, error)


# -- hooks -------------------------------------------------------------------------------------


def _install_hooks() -> None:
    global _hooks_installed, _previous_excepthook
    with _lock:
        if not _hooks_installed:
            _hooks_installed = True
            _previous_excepthook = sys.excepthook
            sys.excepthook = _excepthook
        _install_sigterm()


def _install_sigterm() -> None:
    """Our SIGTERM handler, from the main thread only (Python allows no other), once."""
    global _sigterm_installed, _previous_sigterm
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    _sigterm_installed = True
    previous = signal.getsignal(signal.SIGTERM)
    if previous in (signal.SIG_IGN, None):  # ignored (or set outside Python): the run goes on
        return
    _previous_sigterm = previous
    signal.signal(signal.SIGTERM, _on_sigterm)


def _excepthook(exc_type, exc, tb) -> None:
    global _interrupted
    try:
        fail_open_runs()
    finally:
        _previous_excepthook(exc_type, exc, tb)
        if isinstance(exc_type, type) and issubclass(exc_type, KeyboardInterrupt):
            _interrupted = True
            still_die_by_sigint()


def still_die_by_sigint() -> None:
    """Keep CPython's ending after an uncaught Ctrl-C: death by SIGINT (a shell sees "interrupted").

    CPython forgets that it must end so whenever an ``exec`` of a string runs after the interrupt
    (its flag is reset by every such run), and SQLAlchemy generates code that way on our writer
    thread while the last points are written. An ``exec`` ending in KeyboardInterrupt sets the flag
    again: called once our closing work is done (here, and at the end of the exit flush).
    """
    if not _interrupted:
        return
    try:
        exec("raise KeyboardInterrupt")  # noqa: S102 - a constant: only its ending matters
    except KeyboardInterrupt:
        pass


def _on_sigterm(signum: int, frame: Any) -> None:
    previous = _previous_sigterm
    if callable(previous):
        try:
            previous(signum, frame)  # the program's own handler decides whether this ends it
        except BaseException:
            _fail_from_a_signal()
            raise
        return
    if signal.getsignal(signal.SIGTERM) is not _on_sigterm:
        return  # another handler calls ours among others (Lightning's): it decides how to end
    _fail_from_a_signal()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # and terminate as without trackboard
    os.kill(os.getpid(), signal.SIGTERM)


def _fail_from_a_signal() -> None:
    # A signal interrupts the main thread anywhere, maybe holding a lock the closing needs: close
    # from another thread, and wait a bounded time, so the program always ends.
    worker = threading.Thread(target=fail_open_runs, name="trackboard-sigterm", daemon=True)
    worker.start()
    worker.join(SIGNAL_GRACE_S)


def _close_at_exit() -> None:
    # Runs after the adapters' exit flush and the excepthook: what is left open ended normally.
    _close_all("SUCCESS", EXIT_FLUSH_TIMEOUT_S)


def _after_fork_in_child() -> None:
    # The parent's experiments are the parent's: a forked child neither beats nor closes them.
    with _lock:
        _open.clear()
    _watched.clear()


atexit.register(_close_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
