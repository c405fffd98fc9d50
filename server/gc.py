"""The server's periodic garbage collection: every ``interval_s``, one worker (whichever wins a
row in ``server_settings``) deletes the blobs nothing refers to any more."""

from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa

from trackboard.store import schema as t
from trackboard.store.engine import write_transaction
from trackboard.store.sql import Store
from trackboard.store.storage import collect_garbage

LAST_RUN = "gc_last_run"
log = logging.getLogger("trackboard.server.gc")


def claim_run(store: Store, interval_s: float) -> bool:
    """True for the one caller that may collect now (no run within ``interval_s``, by any worker)."""
    now = time.time()
    settings = t.server_settings
    with write_transaction(store.engine) as conn:
        claimed = conn.execute(
            settings.update().where(settings.c.key == LAST_RUN,
                                    sa.cast(settings.c.value, sa.Float) <= now - interval_s).values(value=repr(now))
        ).rowcount
        if claimed:
            return True
        if conn.execute(sa.select(settings.c.key).where(settings.c.key == LAST_RUN)).first() is None:
            try:
                with conn.begin_nested():
                    conn.execute(settings.insert().values(key=LAST_RUN, value=repr(now)))
                return True
            except sa.exc.IntegrityError:  # another worker inserted it first
                return False
    return False


def start_periodic_gc(store: Store, interval_s: float, grace_s: float) -> threading.Thread | None:
    """A daemon thread that collects every ``interval_s`` (None when ``interval_s`` is 0)."""
    if interval_s <= 0:
        return None

    def loop() -> None:
        while True:
            try:
                if claim_run(store, interval_s):
                    result = collect_garbage(store, grace_s)
                    if result.deleted:
                        log.warning("gc deleted %d unreferenced blobs (%d bytes)", result.deleted, result.freed_bytes)
            except Exception:  # a failed run is retried at the next interval; the server goes on
                log.exception("gc failed")
            time.sleep(min(interval_s, 60.0))  # each worker checks; claim_run lets one collect

    thread = threading.Thread(target=loop, name="trackboard-gc", daemon=True)
    thread.start()
    return thread
