"""``trackboard server`` serves the same dashboard behind a sign-in form (in a real browser)."""

from __future__ import annotations

import pytest
import requests
from dashhelpers import release
from live_process import trackboard_process
from trackboard import Client, LogType
from trackboard.server.auth import create_token
from trackboard.store.sql import Store

expect = pytest.importorskip("playwright.sync_api").expect


def tracking_server(db: str, blobs: str):
    return trackboard_process("server", "--db", db, "--blobs", blobs, ready_path="/ui/signin")


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
    cookie = next(c for c in page.context.cookies() if c["name"] == "trackboard_session")
    assert cookie["httpOnly"] is True
    assert token not in cookie["value"]  # a server-side session, not the API token itself
    session = {"Cookie": f"trackboard_session={cookie['value']}"}
    assert requests.get(f"{base}/ui/data/projects", headers=session).status_code == 200
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{base}/ui/projects/{project_id}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    # Signing out ended the session on the server: a copy of the cookie no longer works.
    assert requests.get(f"{base}/ui/data/projects", headers=session).status_code == 401
