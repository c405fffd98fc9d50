"""Fixtures for the dashboard tests: a real headless Chromium, one per session.

Debian's /usr/bin/chromium is driven by Playwright. Each test module fills its own store through
the real ``trackboard.Client`` and starts one ``trackboard ui`` server on it (``dashhelpers.live_ui``).
Each test gets a fresh browser context and page; a page that raises a JavaScript error or opens a
dialog (``alert``) fails its test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dashhelpers import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium for the whole session (skips when Playwright or Chromium is missing)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh page; JavaScript errors and dialogs (alert, confirm) fail the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def on_dialog(dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.js_errors = errors
    page.dialogs = dialogs
    yield page
    context.close()
    assert not dialogs, f"the page opened dialogs: {dialogs}"
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(params=["sqlite", "postgres"])
def either_store(request, tmp_path):
    """(store, backend) on a SQLite file, or on a new database of the throwaway PostgreSQL cluster."""
    from trackboard.backend import LocalBackend
    from trackboard.store.sql import Store

    if request.param == "sqlite":
        store = Store.at_directory(tmp_path)
    else:
        store = Store(request.getfixturevalue("postgres_cluster").new_database("dash"), tmp_path / "blobs")
    backend = LocalBackend(store)
    yield store, backend
    backend.close()
    store.close()
