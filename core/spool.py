"""The local spool: batches the tracking server has not acknowledged yet, kept on disk in order.

When the server stays unreachable (or ``TRACKBOARD_MODE=offline``), the remote client writes each
batch request body here instead of sending it, and training goes on. The next successful send and
``trackboard sync`` replay the files in order; each body keeps its idempotency key, so a batch
that did reach the server before is not applied twice.

Files are named ``<writer start ns>-<pid>-<seq>.json``: one process's batches sort in the order
they were written, and processes sharing a directory (DDP ranks, several jobs) never clash.
Writes are atomic (temporary file + rename), so a crash leaves no half batch behind. Replays take
an exclusive file lock, so two processes never send the same files at once.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

try:  # POSIX; elsewhere replays are serialised within one process only
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

ALIASES = "aliases.json"


class Spool:
    """Ordered batch files in ``directory`` (created on first write)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self._lock = threading.RLock()
        self._restart()

    def _restart(self) -> None:
        self._prefix = f"{time.time_ns():020d}-{os.getpid()}"
        self._seq = itertools.count()

    def after_fork(self) -> None:
        """A forked child writes its own sequence of files."""
        self._lock = threading.RLock()
        self._restart()

    # -- writing ------------------------------------------------------------------------------

    def append(self, body: dict) -> Path:
        """Write one batch body at the end of the spool."""
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            target = self.directory / f"{self._prefix}-{next(self._seq):09d}.json"
            _write_atomic(target, json.dumps(body, separators=(",", ":"), allow_nan=False))
            return target

    # -- reading ------------------------------------------------------------------------------

    def pending(self) -> list[Path]:
        """The spooled batch files, oldest first."""
        try:
            names = sorted(entry.name for entry in os.scandir(self.directory)
                           if entry.name.endswith(".json") and entry.name != ALIASES)
        except FileNotFoundError:
            return []
        return [self.directory / name for name in names]

    def has_pending(self) -> bool:
        try:
            with os.scandir(self.directory) as entries:
                return any(entry.name.endswith(".json") and entry.name != ALIASES for entry in entries)
        except FileNotFoundError:
            return False

    @staticmethod
    def read(path: Path) -> dict:
        return json.loads(path.read_text(encoding="utf-8"))

    @staticmethod
    def done(path: Path) -> None:
        """Forget a batch the server acknowledged."""
        path.unlink(missing_ok=True)

    def set_aside(self, path: Path) -> Path:
        """Move a batch the server refuses as a whole out of the queue (kept for inspection)."""
        rejected = self.directory / "rejected"
        rejected.mkdir(parents=True, exist_ok=True)
        target = rejected / path.name
        os.replace(path, target)
        return target

    # -- replay coordination ------------------------------------------------------------------

    @contextlib.contextmanager
    def replaying(self, wait: bool = True) -> Iterator[bool]:
        """Hold the replay lock (yields False when ``wait`` is False and another holder has it).

        A file lock, so it also excludes other processes. Appends never wait for it: a replay
        stuck on a dead connection must not keep anyone from spooling.
        """
        if fcntl is None:
            yield True
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- ids chosen while offline ---------------------------------------------------------------

    def aliases(self) -> dict[str, str]:
        """Ids chosen offline -> the ids the server gave (when it already had that name)."""
        try:
            return json.loads((self.directory / ALIASES).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}

    def add_aliases(self, aliases: dict[str, str]) -> None:
        if not aliases:
            return
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            merged = {**self.aliases(), **aliases}
            _write_atomic(self.directory / ALIASES, json.dumps(merged))


def _write_atomic(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
