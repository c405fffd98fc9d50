"""Fixtures shared by the adapter tests: stores that work, and stores that fail.

The top-level conftest gives ``store_dir`` / ``client`` (a fresh embedded store per test) and
clears ``TRACKBOARD_*``; here is what adapter tests add to it. Helpers are in ``cbhelpers.py``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

# Keras picks its backend on first import; TensorFlow is not installed here.
os.environ.setdefault("KERAS_BACKEND", "torch")

from trackboard import Client  # noqa: E402
from trackboard.callbacks import TrackingWarning  # noqa: E402


@pytest.fixture(autouse=True)
def _tracking_failures_fail_tests():
    """A tracking failure no test expects is an error (tests that expect one record warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrackingWarning)
        yield


@pytest.fixture
def store_env(store_dir: Path, monkeypatch) -> Path:
    """``TRACKBOARD_DIR`` pointing at the test's store, for adapters built without ``client=``."""
    monkeypatch.setenv("TRACKBOARD_DIR", str(store_dir))
    return store_dir


@pytest.fixture
def broken_store_env(tmp_path: Path, monkeypatch) -> Path:
    """``TRACKBOARD_DIR`` pointing at a regular file: opening the store fails."""
    path = tmp_path / "not-a-directory"
    path.write_text("this is a file")
    monkeypatch.setenv("TRACKBOARD_DIR", str(path))
    return path


@pytest.fixture
def unwritable_store(client: Client, monkeypatch) -> Client:
    """A store that accepts logs on the caller's thread but fails to commit them (a dead disk).

    The writer's retries are turned off so the failure surfaces in milliseconds, not seconds.
    """
    from trackboard import backend as backend_module
    from trackboard import writer

    monkeypatch.setattr(writer, "RETRY_DELAYS_S", ())
    backend = backend_module.local_backend(client.settings.directory)

    def dead_disk(batch):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backend.writer, "_sink", dead_disk)
    return client
