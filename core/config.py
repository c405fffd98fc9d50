"""Settings from arguments and ``TRACKBOARD_*`` environment variables (arguments win)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import TrackboardError

MODES = ("online", "offline", "disabled")


@dataclass(frozen=True)
class Settings:
    directory: str
    host: str | None
    api_token: str | None
    mode: str


def resolve(
    api_token: str | None = None, host: str | None = None, directory: str | None = None, mode: str | None = None
) -> Settings:
    """Combine arguments with the environment.

    >>> resolve(directory="/tmp/tb", mode="offline").mode
    'offline'
    """
    env = os.environ
    mode = (mode or env.get("TRACKBOARD_MODE") or "online").strip().lower()
    if mode not in MODES:
        raise TrackboardError(f"TRACKBOARD_MODE must be one of {', '.join(MODES)}, got {mode!r}")
    return Settings(
        directory=directory or env.get("TRACKBOARD_DIR") or "./.trackboard",
        host=host or env.get("TRACKBOARD_HOST") or None,
        api_token=api_token or env.get("TRACKBOARD_API_TOKEN") or None,
        mode=mode,
    )
