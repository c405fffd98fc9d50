"""Helpers of the dashboard tests (``from dashhelpers import ...``): a live server, panels, data."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CHROMIUM = os.environ.get("TRACKBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_ui(directory: str | os.PathLike) -> Iterator[str]:
    """``trackboard ui`` on ``directory`` in a subprocess; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKBOARD_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "trackboard.cli", "ui", "--dir", str(directory), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/ui/data/projects", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"trackboard ui exited: {process.stderr.read().decode()[-2000:]}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError("trackboard ui did not answer within 30 s") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string, for attribute selectors on user-provided names."""
    return json.dumps(text)


def panel(page, name: str):
    """The panel of log ``name``, scrolled into view and rendered."""
    selector = f"section.panel[data-log={css_string(name)}]"
    page.locator(selector).scroll_into_view_if_needed()
    page.locator(f"{selector}[data-rendered='1']").wait_for()
    return page.locator(selector)


def open_ready(page, url: str) -> None:
    """Go to a dashboard page and wait until it says it has rendered."""
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")


def png_bytes(width: int = 64, height: int = 48, color=(200, 60, 40)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def release(directory: str | os.PathLike) -> None:
    """Flush and close this process's writer and connections for the store in ``directory``."""
    from trackboard.backend import release as release_backend

    release_backend(directory)
