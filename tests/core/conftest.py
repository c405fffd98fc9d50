"""Fixtures shared by the core tests."""

from __future__ import annotations

import pytest

from trackboard.store.sql import Store


@pytest.fixture
def store(store_dir, experiment):
    """A Store of its own on the experiment's embedded store (what a reader process opens)."""
    experiment.flush()
    store = Store.at_directory(store_dir)
    yield store
    store.close()
