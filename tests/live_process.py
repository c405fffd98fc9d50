"""Servers the tests start for real: ``trackboard ui`` / ``trackboard server`` on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from typing import Iterator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def trackboard_process(*args: str, ready_path: str, env: dict | None = None, timeout: float = 30.0,
                       port: int | None = None) -> Iterator[str]:
    """``python -m trackboard.cli ARGS --port FREE`` until the block ends; yields its base URL.

    It is ready once ``ready_path`` answers with any HTTP status; it is stopped (then killed) after.
    ``port`` reuses a port (a server restarted where a page expects it).
    """
    port = port or free_port()
    process = subprocess.Popen([sys.executable, "-m", "trackboard.cli", *args, "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(base + ready_path, timeout=2).read()
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"trackboard {args[0]} exited: {process.stderr.read().decode()[-2000:]}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"trackboard {args[0]} did not answer within {timeout} s") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def without_trackboard_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TRACKBOARD_")}
