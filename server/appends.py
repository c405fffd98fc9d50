"""At most one log append at a time per worker, so that a dashboard read never queues behind many.

A worker's event loop reads and validates request bodies, and its thread pool runs the routes: with
every client's batch in flight at once, a read shares the loop and the GIL with all of them (and on
SQLite the appends only wait for each other's write lock anyway). Appends past the limit wait here
before their body is read (it stays in the socket), which costs no CPU; clients send from a
background writer, so training does not wait for it.

The workers of one ``trackboard server`` also share host-wide slots (lock files): appends use at
most half the machine's cores (``TRACKBOARD_SERVER_APPEND_SLOTS``), so a read always finds a core
while clients push points as fast as they can. Ingest waits a little; dashboards stay responsive.
"""

from __future__ import annotations

import asyncio
import os
import re

APPENDS_PER_WORKER = 1
SLOT_POLL_S = 0.002  # how often a waiting append tries the host's slots again
# The routes that write points: trackboard's batches, and the picsellia SDK's log create / append.
_APPENDS = re.compile(r"^/api/(trackboard/batches|log/[^/]+/append|experiment/[^/]+/logs)/?$")


def host_slot_count() -> int:
    """Appends in flight on this host at once, across a server's workers: half the cores by default."""
    return max(1, int(os.environ.get("TRACKBOARD_SERVER_APPEND_SLOTS") or (os.cpu_count() or 2) // 2))


class HostSlots:
    """Slots shared by the worker processes of one server: one lock file each, in ``directory``.

    Taken without blocking the event loop (a non-blocking try, then a short sleep), so an append
    whose client goes away while it waits holds nothing.
    """

    def __init__(self, directory: str, count: int) -> None:
        self._files = [os.open(os.path.join(directory, f"appends-{i}.lock"), os.O_CREAT | os.O_RDWR, 0o600)
                       for i in range(count)]

    async def take(self) -> int:
        import fcntl

        while True:
            for fd in self._files:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fd
                except BlockingIOError:
                    continue
            await asyncio.sleep(SLOT_POLL_S)

    @staticmethod
    def give(fd: int) -> None:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def host_slots_from_env() -> HostSlots | None:
    """The host-wide slots ``trackboard server`` set up for its workers (None: this process alone)."""
    directory = os.environ.get("TRACKBOARD_SERVER_APPEND_LOCKS")
    if not directory or os.name == "nt":
        return None
    return HostSlots(directory, host_slot_count())


class AppendLimit:
    """ASGI middleware holding appends to ``limit`` at a time in this process, and to the host's
    slots (``host``) across the server's workers."""

    def __init__(self, app, limit: int = APPENDS_PER_WORKER, host: HostSlots | None = None) -> None:
        self.app = app
        self.limit = limit
        self.host = host
        self._slots: asyncio.Semaphore | None = None  # made in the worker's own event loop

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _APPENDS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            if self.host is None:
                await self.app(scope, receive, send)
                return
            slot = await self.host.take()
            try:
                await self.app(scope, receive, send)
            finally:
                self.host.give(slot)
