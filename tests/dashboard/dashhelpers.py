"""Helpers of the dashboard tests (``from dashhelpers import ...``): a live server, panels, data."""

from __future__ import annotations

import io
import json
import os
from contextlib import contextmanager
from typing import Iterator

from live_process import trackboard_process, without_trackboard_env

CHROMIUM = os.environ.get("TRACKBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextmanager
def live_ui(directory: str | os.PathLike, port: int | None = None) -> Iterator[str]:
    """``trackboard ui`` on ``directory`` in a subprocess (on ``port`` if given); yields its base URL."""
    with trackboard_process("ui", "--dir", str(directory), ready_path="/ui/data/projects",
                            env=without_trackboard_env(), port=port) as base:
        yield base


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string, for attribute selectors on user-provided names."""
    return json.dumps(text)


def panel(page, name: str):
    """The panel of log ``name``, scrolled into view and rendered (a chart by plotly, not its sketch)."""
    selector = f"section.panel[data-log={css_string(name)}]"
    page.locator(selector).scroll_into_view_if_needed()
    page.locator(f"{selector}[data-rendered='1']:not(:has(svg.chart-sketch))").wait_for()
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
