"""Knowing when a framework's training call ends, however it ends.

Keras' ``fit`` and Hugging Face's ``train`` call no hook when an exception (or Ctrl-C) ends
training, and Keras calls ``on_train_end`` of each callback in list order, so a callback before
``EarlyStopping(restore_best_weights=True)`` sees weights that are not the final ones. The adapter
wraps the framework's method once (``watch_method``); inside, a callback registers itself on the
call in progress (``current_call``) and hears ``training_returned()`` after the framework's own
last hook, or ``training_failed(error)`` before the exception leaves the call, which is then
re-raised unchanged.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from typing import Any, Protocol

logger = logging.getLogger("trackboard.callbacks")


class Listener(Protocol):
    def training_returned(self) -> None: ...
    def training_failed(self, error: BaseException) -> None: ...


class TrainingCall:
    """One call of ``fit`` / ``train`` in progress: its arguments and who listens to its end."""

    def __init__(self, kind: str, arguments: dict[str, Any]) -> None:
        self.kind = kind
        self.arguments = arguments
        self.listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        if listener not in self.listeners:
            self.listeners.append(listener)


_local = threading.local()


def _stack() -> list[TrainingCall]:
    stack = getattr(_local, "calls", None)
    if stack is None:
        stack = _local.calls = []
    return stack


def current_call(kind: str) -> TrainingCall | None:
    """The innermost ``kind`` training call running on this thread, if any."""
    for call in reversed(_stack()):
        if call.kind == kind:
            return call
    return None


def watch_method(cls: type, name: str, kind: str) -> None:
    """Wrap ``cls.name`` (once) so that calls of it are ``TrainingCall``s of ``kind``."""
    original = getattr(cls, name)
    if getattr(original, "__trackboard_kind__", None) == kind:
        return
    signature = inspect.signature(original)

    @functools.wraps(original)
    def watched(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            arguments = dict(signature.bind(self, *args, **kwargs).arguments)
        except TypeError:  # the framework reports the bad call itself
            arguments = {}
        call = TrainingCall(kind, arguments)
        stack = _stack()
        stack.append(call)
        try:
            result = original(self, *args, **kwargs)
        except BaseException as error:
            stack.remove(call)
            for listener in call.listeners:
                _notify(listener.training_failed, error)
            raise
        stack.remove(call)
        for listener in call.listeners:
            _notify(listener.training_returned)
        return result

    watched.__trackboard_kind__ = kind  # type: ignore[attr-defined]
    setattr(cls, name, watched)


def _notify(hook: Any, *args: Any) -> None:
    try:
        hook(*args)
    except Exception as error:  # noqa: BLE001 - the listeners report their own failures
        logger.debug("trackboard: a training-end listener failed: %r", error)
