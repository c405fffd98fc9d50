"""``trackboard server`` serves the same dashboard behind a sign-in form (in a real browser)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest

from dashhelpers import free_port, release
from trackboard import Client, LogType
from trackboard.server.auth import create_token
from trackboard.store.sql import Store

expect = pytest.importorskip("playwright.sync_api").expect


@contextmanager
def tracking_server(db: str, blobs: str):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "trackboard.cli", "server", "--db", db, "--blobs", blobs, "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/ui/signin", timeout=2).read()
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"trackboard server did not start: {process.stderr.read().decode()[-2000:] if process.poll() is not None else ''}") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A tracking server over a store filled by the embedded client (same files), with one token."""
    root = tmp_path_factory.mktemp("server")
    client = Client(directory=root)
    project = client.get_or_create_project("team-project")
    run = project.create_experiment("shared-run")
    run.log("accuracy", 0.87, LogType.VALUE)
    run.log("loss", [1.0, 0.5], LogType.LINE)
    run.close()
    release(root)
    db, blobs = f"sqlite:///{root / 'trackboard.db'}", str(root / "blobs")
    store = Store(db, blobs)
    token = create_token(store, "browser")
    store.close()
    with tracking_server(db, blobs) as base:
        yield base, token, project.id, run.id


def test_sign_in_with_an_api_token(page, server):
    base, token, project_id, experiment_id = server
    page.goto(f"{base}/ui/experiments/{experiment_id}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("API token").fill("tb_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("body[data-ready='1']")
    assert page.url == f"{base}/ui/experiments/{experiment_id}"
    expect(page.locator(".value-card[data-value='accuracy'] .value-number")).to_have_text("0.87")
    page.locator("section.panel[data-log='loss'][data-rendered='1']").wait_for()
    cookie = next(c for c in page.context.cookies() if c["name"] == "trackboard_token")
    assert cookie["httpOnly"] is True
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{base}/ui/projects/{project_id}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
