"""An experiment's status as it is read: the stored one, or CRASHED for a run whose process died.

The stored status is RUNNING, SUCCESS or FAILED, written by the process that runs the experiment.
A process killed without closing (SIGKILL, the OOM killer, a lost node) cannot write FAILED, so
CRASHED is derived on every read, never stored: a RUNNING experiment is CRASHED when its
heartbeat (``core/heartbeat.py``) is older than ``STALE_BEATS`` intervals, or at once when its
process ran on this host and is gone. Reading never changes what is stored, and a process that
resumes beating (or ``reopen()``) makes it RUNNING again.

>>> read_status({"status": "SUCCESS"})
'SUCCESS'
>>> read_status({"status": "RUNNING", "heartbeat_at": 0.0, "heartbeat_interval": 5.0}, now=100.0)
'CRASHED'
>>> picsellia_status("CRASHED")
'FAILED'
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any, Mapping

STATUSES = ("RUNNING", "SUCCESS", "FAILED", "CRASHED")
STALE_BEATS = 4  # missed heartbeats before a run reads as CRASHED
DEFAULT_INTERVAL_S = 5.0
HOSTNAME = socket.gethostname()


def read_status(row: Mapping[str, Any], now: float | None = None) -> str:
    """The status of the experiment ``row`` as every surface shows it (see the module docstring)."""
    status = row["status"]
    beat = row.get("heartbeat_at")
    if status != "RUNNING" or beat is None:
        return status  # finished, or run by something that never beats (an SDK, an old version)
    pid = row.get("pid")
    if pid and row.get("hostname") == HOSTNAME and not process_alive(int(pid), running_at=beat):
        return "CRASHED"
    interval = row.get("heartbeat_interval") or DEFAULT_INTERVAL_S
    if (time.time() if now is None else now) - beat > STALE_BEATS * interval:
        return "CRASHED"
    return status


def with_read_status(row: dict) -> dict:
    """``row`` with its status as read (the row is changed in place and returned)."""
    row["status"] = read_status(row)
    return row


def picsellia_status(status: str) -> str:
    """The status in the picsellia SDK's enum, which has no CRASHED."""
    return "FAILED" if status == "CRASHED" else status


def process_alive(pid: int, running_at: float | None = None) -> bool:
    """Whether process ``pid`` runs on this host (a zombie, killed but not yet reaped, does not).

    ``running_at``: a time the process was known to run (its last heartbeat); a process with that
    pid started later is another one that reused the number.

    >>> process_alive(os.getpid())
    True
    """
    if pid == os.getpid():
        return True
    try:
        import psutil
    except ImportError:  # psutil is a dependency; without it, only ask whether the pid exists
        return _pid_exists(pid)
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return running_at is None or process.create_time() <= running_at + 1.0  # clock ticks round it
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # cannot tell (access denied...): let the heartbeat decide
        return True


def _pid_exists(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate it there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists as another user's, or we cannot tell: let the heartbeat decide
        return True
    return True
