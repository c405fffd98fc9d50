"""The local spool: batches the tracking server has not acknowledged yet, kept on disk in order.

When the server stays unreachable (or ``TRACKBOARD_MODE=offline``), the remote client writes each
batch request body here instead of sending it, and training goes on. The next successful send and
``trackboard sync`` replay the files in order; each body keeps its idempotency key, so a batch
that did reach the server before is not applied twice.

Files are named ``<run>-<pid>-<seq>.json``. ``run`` comes from a counter kept in the directory
(``.counter``, bumped under a file lock when a process first spools), never from the clock: a
clock set back between two offline runs cannot reorder them. One process's batches sort in the
order they were written, and processes sharing a directory (DDP ranks, several jobs) never clash.

A spool remembers the files it wrote and has not seen delivered. If they vanish together with the
directory (someone deleted it), ``take_lost`` says how many, so a flush reports the loss instead
of success; files that another process (``trackboard sync``) delivered are not a loss.
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
from pathlib import Path
from typing import Iterator

try:  # POSIX; elsewhere replays are serialised within one process only
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

ALIASES = "aliases.json"
COUNTER = ".counter"


class Spool:
    """Ordered batch files in ``directory`` (created on first write)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self._lock = threading.RLock()
        self._restart()

    def _restart(self) -> None:
        self._prefix: str | None = None  # drawn from the counter on the first append
        self._seq = itertools.count()
        self._unsent: set[str] = set()  # names this spool wrote that it has not seen delivered
        self._identity: tuple[int, int] | None = None  # the directory they were written into
        self._lost = 0

    def after_fork(self) -> None:
        """A forked child writes its own sequence of files."""
        self._lock = threading.RLock()
        self._restart()

    # -- writing ------------------------------------------------------------------------------

    def append(self, body: dict) -> Path:
        """Write one batch body at the end of the spool."""
        with self._lock:
            self._check_lost()
            self.directory.mkdir(parents=True, exist_ok=True)
            if self._prefix is None:
                self._prefix = f"{self._next_run():020d}-{os.getpid()}"
            target = self.directory / f"{self._prefix}-{next(self._seq):09d}.json"
            _write_atomic(target, json.dumps(body, separators=(",", ":"), allow_nan=False))
            self._unsent.add(target.name)
            self._identity = _identity(self.directory)
            return target

    def _next_run(self) -> int:
        """The next value of the directory's counter (above every file already there)."""
        highest = max((int(path.name.split("-", 1)[0]) for path in self.pending()
                       if path.name.split("-", 1)[0].isdigit()), default=0)
        with open(self.directory / COUNTER, "a+", encoding="ascii") as handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            stored = handle.read().strip()
            run = max(int(stored) if stored.isdigit() else 0, highest) + 1
            handle.seek(0)
            handle.truncate()
            handle.write(str(run))
            handle.flush()
            os.fsync(handle.fileno())
        return run

    # -- loss ---------------------------------------------------------------------------------

    def _check_lost(self) -> None:
        if not self._unsent:
            return
        gone = {name for name in self._unsent if not (self.directory / name).exists()}
        if not gone:
            return
        self._unsent -= gone
        if _identity(self.directory) != self._identity:  # the directory itself was deleted
            self._lost += len(gone)

    def take_lost(self) -> int:
        """How many batches this spool wrote were deleted (with their directory) before delivery."""
        with self._lock:
            self._check_lost()
            lost, self._lost = self._lost, 0
            return lost

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

    def done(self, path: Path) -> None:
        """Forget a batch the server acknowledged."""
        path.unlink(missing_ok=True)
        self._unsent.discard(path.name)

    def set_aside(self, path: Path) -> Path:
        """Move a batch the server refuses as a whole out of the queue (kept for inspection)."""
        rejected = self.directory / "rejected"
        rejected.mkdir(parents=True, exist_ok=True)
        target = rejected / path.name
        os.replace(path, target)
        self._unsent.discard(path.name)
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


def _identity(directory: Path) -> tuple[int, int] | None:
    try:
        stat = directory.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _write_atomic(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
