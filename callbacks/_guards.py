"""The guards every adapter hook wears: run on rank zero only, and never raise into training.

They are decorators, so "only on rank 0" and "a failure is a warning" are said once at the top of
a hook instead of being re-implemented inside it::

    class MyCallback:
        def _is_rank_zero(self, *args, **kwargs) -> bool:
            return int(os.environ.get("RANK", 0)) == 0

        @rank_zero_hook("log metrics")
        def on_epoch_end(self, epoch, logs=None):
            self._run.log_metrics(logs, step=epoch)

``never_raises`` alone is for hooks every rank runs (a collective inside) and for helpers.
"""

from __future__ import annotations

import functools
import logging
import threading
import warnings
from typing import Any, Callable, TypeVar

from trackboard import TrackingWarning

logger = logging.getLogger("trackboard.callbacks")

Hook = TypeVar("Hook", bound=Callable[..., Any])


class FailureReporter:
    """Turns tracking failures into one warning per kind of failure, then DEBUG log lines.

    A store that went away fails every hook of every step: one warning says so, the rest would
    drown the training output.

    >>> reporter = FailureReporter()
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     for _ in range(3):
    ...         reporter.report("log metrics", ValueError("disk full"))
    >>> len(caught), reporter.count
    (1, 3)
    """

    def __init__(self) -> None:
        self.count = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def report(self, what: str, error: BaseException) -> None:
        with self._lock:
            self.count += 1
            first = what not in self._seen
            self._seen.add(what)
        if first:
            warnings.warn(
                f"trackboard: could not {what} ({type(error).__name__}: {error}); training goes on, "
                "further failures of this kind are logged at DEBUG level only",
                TrackingWarning,
                stacklevel=4,
            )
        else:
            logger.debug("trackboard: could not %s: %r", what, error)

    # The reporter travels with the adapter when it is pickled for DDP spawn; its lock does not.
    def __getstate__(self) -> dict:
        return {"count": self.count, "_seen": set(self._seen)}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def rank_zero_hook(what: str) -> Callable[[Hook], Hook]:
    """A framework hook: run only where ``self._is_rank_zero(*args, **kwargs)`` is true (else
    return None), and report any exception through ``self._run.report(what, error)``.

    The predicate gets the hook's own arguments, because some frameworks say which rank this is
    in the call itself (Hugging Face passes ``state.is_world_process_zero``). Both guards live in
    one wrapper: hooks run every training step, and each wrapper is a Python call more.
    """
    return _guard(what, rank_zero=True)


def never_raises(what: str) -> Callable[[Hook], Hook]:
    """Report any exception of the hook through ``self._run.report(what, error)`` instead of raising.

    ``what`` completes "could not ..." in the warning: ``@never_raises("log metrics")``.
    """
    return _guard(what, rank_zero=False)


def _guard(what: str, rank_zero: bool) -> Callable[[Hook], Hook]:
    def decorate(hook: Hook) -> Hook:
        @functools.wraps(hook)
        def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                if not rank_zero or self._is_rank_zero(*args, **kwargs):
                    return hook(self, *args, **kwargs)
            except Exception as error:  # noqa: BLE001 - tracking must never stop training
                self._run.report(what, error)
            return None

        return guarded  # type: ignore[return-value]

    return decorate
