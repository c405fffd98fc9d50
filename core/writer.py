"""The background writer: the caller's thread only enqueues; one daemon thread commits batches.

``put`` is a deque append (no wake-up): the writer wakes on a short timer or when someone flushes,
drains everything queued, and hands it to its sink in batches. ``flush`` waits until everything
put before it has been committed, and raises if any of it was refused.

The queue is bounded: when a producer outruns the store (a store locked by another process, a
slow disk) and MAX_QUEUED_POINTS points wait, ``put`` blocks until the writer has taken some
(back-pressure), so memory stays bounded instead of growing until the process is killed.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import warnings
from typing import Callable, Iterable

from .errors import FlushTimeoutError, TrackboardError, TrackingWarning, WriteError
from .logtype import LogType
from .records import Queued, Record, from_queue, points_of, weight

logger = logging.getLogger("trackboard")

# A sink commits a batch (reading it once, in order) and returns the records it refused with the reason.
Sink = Callable[[Iterable[Record]], list[tuple[Record, Exception]]]

INTERVAL_S = 0.1  # how often the writer looks for new records when nobody flushes
MAX_BATCH = 200_000  # points per commit; bounds a transaction's memory
MAX_QUEUED_POINTS = 1_000_000  # points waiting for the writer before put() waits for room (~200 MB)
RETRY_DELAYS_S = (0.05, 0.5, 2.0)
_LINE = LogType.LINE


class BackgroundWriter:
    """Batches records from any number of threads into one sink, in the order they were put."""

    def __init__(self, sink: Sink, name: str = "trackboard-writer", interval: float = INTERVAL_S) -> None:
        self._sink = sink
        self._interval = interval
        self._name = name
        self._queue: collections.deque[Queued] = collections.deque()
        # Points queued = len(queue) + the extra points of items holding more than one; only
        # those items take the lock, so a one-point put is an append and a length check.
        self._extra = 0
        self._extra_lock = threading.Lock()
        self._start()

    def put(self, item: Queued) -> None:
        """Queue a Record or its compact form (records.to_queue), expanded on the writer's thread."""
        queue = self._queue
        queue.append(item)
        if item.__class__ is tuple:  # a compact LINE item (records.to_queue): a Point or StepValues
            names = item[3]
            extra = 0 if names is None else len(names) - 1
        else:  # a Record: weight() inline, as this runs for every call
            extra = points_of(item[3]) - 1 if item[2] is _LINE else 0
        if extra:
            with self._extra_lock:
                self._extra += extra
        if len(queue) + self._extra > MAX_QUEUED_POINTS:
            self._wait_for_room()

    def _wait_for_room(self) -> None:
        """Back-pressure: hold the producer until the writer has taken what is over the bound."""
        self._wake.set()
        with self._progress:
            while (len(self._queue) + self._extra > MAX_QUEUED_POINTS and self._thread.is_alive()
                   and not self._closed and threading.current_thread() is not self._thread):
                self._progress.wait(0.05)
                self._wake.set()

    def _start(self) -> None:
        self._wake = threading.Event()
        self._progress = threading.Condition()
        self._enqueued = 0  # records taken off the queue by the writer thread so far
        self._committed = 0  # of those, how many are committed or refused
        self._failures: list[tuple[Record, Exception]] = []
        self._warned: set[str] = set()  # kinds of failure already warned about
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def restart_after_fork(self) -> None:
        """In a forked child: drop the parent's queued records (the parent writes them) and restart."""
        self._queue.clear()
        self._extra = 0
        self._extra_lock = threading.Lock()
        self._start()

    def take_queued(self) -> list[Record]:
        """Take every record the writer has not started on (they are then the caller's to store)."""
        taken = []
        pop = self._queue.popleft
        try:
            while True:
                taken.append(pop())
        except IndexError:
            pass
        self._taken_points(sum(weight(item) for item in taken) - len(taken))
        return [from_queue(item) for item in taken]

    def flush(self, timeout: float | None = None) -> None:
        """Return once everything put before this call is committed; raise WriteError if any was refused."""
        with self._progress:
            target = self._enqueued + len(self._queue)
        self._wake.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._progress:
            while self._committed < target and self._thread.is_alive():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise FlushTimeoutError(
                        f"flush timed out after {timeout} s with {target - self._committed} records not yet durable"
                    )
                self._progress.wait(0.5 if remaining is None else min(remaining, 0.5))
                self._wake.set()
            failures, self._failures = self._failures, []
            lost = target - self._committed
        if failures:
            raise WriteError(_describe(failures))
        if lost > 0:
            raise WriteError(f"the writer is closed: {lost} logged record(s) were not stored")

    def pending(self) -> int:
        return len(self._queue)

    def close(self, timeout: float | None = 30.0) -> None:
        try:
            self.flush(timeout)
        finally:
            self._closed = True
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            while self._queue:
                batch = self._drain()
                self._commit(batch)
            if self._closed and not self._queue:
                return

    def _drain(self) -> list[Queued]:
        batch = []
        pop = self._queue.popleft
        points = 0
        with self._progress:
            try:
                while points < MAX_BATCH:
                    item = pop()
                    batch.append(item)
                    points += 1 if item.__class__ is tuple and item[3] is None else weight(item)
            except IndexError:
                pass
            self._enqueued += len(batch)
            self._taken_points(points - len(batch))
            self._progress.notify_all()  # producers waiting for room go on while this batch commits
        return batch

    def _taken_points(self, extra: int) -> None:
        if extra:
            with self._extra_lock:
                self._extra -= extra

    def _commit(self, batch: list[Queued]) -> None:
        failures = self._commit_with_retries(batch)
        if failures:
            # One warning per kind of failure: a store that stays broken must not flood the output.
            kind = type(failures[0][1]).__name__
            if kind not in self._warned:
                self._warned.add(kind)
                warnings.warn(f"trackboard: {_describe(failures)}", TrackingWarning, stacklevel=1)
            else:
                logger.warning("trackboard: %s", _describe(failures))
        with self._progress:
            self._failures.extend(failures)
            self._committed += len(batch)
            self._progress.notify_all()

    def _commit_with_retries(self, batch: list[Queued]) -> list[tuple[Record, Exception]]:
        for attempt, delay in enumerate((*RETRY_DELAYS_S, None)):
            try:
                # Records made one at a time as the sink reads them: none outlives its turn, so
                # none is promoted to the collector's old generation (see records.to_queue).
                return self._sink(map(from_queue, batch))
            except Exception as error:  # locked, full, unreachable...: retry with backoff
                if delay is None:
                    break
                logger.debug("trackboard: commit attempt %d failed: %s", attempt + 1, error)
                time.sleep(delay)
        # Still failing: commit record by record so one bad record cannot sink the others.
        failures = []
        for item in batch:
            record = from_queue(item)
            try:
                failures.extend(self._sink([record]))
            except Exception as error:
                failures.append((record, error))
        return failures


def _describe(failures: list[tuple[Record, Exception]]) -> str:
    record, error = failures[0]
    reason = str(error) if isinstance(error, TrackboardError) else (
        f"{record.type.value} {record.name!r}: {type(error).__name__}: {str(error).splitlines()[0]}"
    )
    more = f" (first of {len(failures)})" if len(failures) > 1 else ""
    return f"a logged record could not be stored{more}: {reason}"
