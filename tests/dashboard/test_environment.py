"""The Environment section in a real browser, on runs recorded by real scripts in a git work tree:
the commit with a copyable checkout command, the diff, the command line; ``system/`` panels in
their own group; the compare view highlighting another commit."""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from dashhelpers import live_ui, open_ready, panel, release

expect = pytest.importorskip("playwright.sync_api").expect

TRAIN = """\
import time
from trackboard import Client
experiment = Client().get_or_create_project("env").create_experiment(__import__("sys").argv[1])
for step in range(6):
    experiment.log("train/loss", {"steps": [step * 10], "values": [1.0 / (step + 1)]}, "line")
    time.sleep(0.1)
experiment.close()
print(experiment.id)
"""


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("environment")
    repo, store = root / "repo", root / "store"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "T")
    git(repo, "remote", "add", "origin", "https://token@example.com/team/vision.git")
    (repo / "train.py").write_text(TRAIN)
    (repo / "model.py").write_text("LAYERS = 2\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    env = {**os.environ, "TRACKBOARD_DIR": str(store), "TRACKBOARD_CAPTURE": "1", "TRACKBOARD_SYSTEM_INTERVAL": "0.1"}

    def run(name):
        done = subprocess.run([sys.executable, "train.py", name, "--lr", "0.1"], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    (repo / "model.py").write_text("LAYERS = 3  # trying\n")
    dirty = run("dirty")
    first = git(repo, "rev-parse", "HEAD")
    git(repo, "commit", "-q", "-am", "three layers")
    clean = run("clean")
    second = git(repo, "rev-parse", "HEAD")
    with live_ui(store) as base:
        yield SimpleNamespace(base=base, dirty=dirty, clean=clean, first=first, second=second)
    release(store)


def environment_card(page, site, experiment_id):
    open_ready(page, f"{site.base}/ui/experiments/{experiment_id}")
    card = page.locator("section.card.environment[data-rendered='1']")
    card.wait_for()
    return card


def test_the_environment_section_shows_the_commit_a_checkout_command_and_the_diff(page, site):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    card = environment_card(page, site, site.dirty)
    commit = card.locator(".env-commit")
    expect(commit).to_have_text(site.first[:12])
    expect(commit).to_have_attribute("title", site.first)
    expect(card.locator(".env-dirty")).to_be_visible()
    expect(card.locator(".env-branch")).to_have_text(" on main")
    command = card.locator("[data-copy='checkout command'] .copy-text")
    expected = f"git clone https://example.com/team/vision.git vision && cd vision && git checkout {site.first}"
    expect(command).to_have_text(expected)  # the token of the remote URL was never recorded
    card.get_by_role("button", name="Copy checkout command").click()
    expect(card.locator("[data-copy='checkout command'] .copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == expected
    expect(card.locator("[data-copy='command line'] .copy-text")).to_have_text("python train.py dirty --lr 0.1")
    diff = card.locator("details.env-diff-box")
    expect(diff.locator("pre")).to_be_hidden()
    diff.locator("summary").click()
    expect(diff.locator("pre .del")).to_have_text("-LAYERS = 2\n")
    expect(diff.locator("pre .add")).to_have_text("+LAYERS = 3  # trying\n")
    # The table is the section: no separate "environment" TABLE panel.
    expect(page.locator("section.panel[data-log='environment']")).to_have_count(0)


def test_a_clean_run_has_no_diff_and_system_panels_form_their_own_group(page, site):
    card = environment_card(page, site, site.clean)
    expect(card.locator(".env-commit")).to_have_text(site.second[:12])
    expect(card.locator(".env-dirty")).to_have_count(0)
    expect(card.locator("details.env-diff-box")).to_have_count(0)
    group = page.locator("section.group[data-group='system']")
    expect(group).to_be_visible()
    cpu = panel(page, "system/cpu_percent")
    expect(cpu.locator(".panel-title")).to_have_text("cpu_percent")
    assert group.locator("section.panel[data-log='system/process_rss_mb']").count() == 1
    expect(page.locator("section.group[data-group='train'] section.panel[data-log='train/loss']")).to_have_count(1)


def test_the_compare_view_highlights_another_commit(page, site):
    open_ready(page, f"{site.base}/ui/compare?ids={site.dirty},{site.clean}")
    table = page.locator(".env-compare-table")
    differing = set(table.locator("tbody tr.differs th").all_text_contents())
    assert {"git.commit", "git.dirty", "argv"} <= differing
    assert "python" not in differing and "pid" not in differing
    expect(table.locator("tbody tr[data-env='git.commit'] td")).to_have_text([site.first, site.second])
    expect(table.locator("tbody tr[data-env='python']")).to_be_hidden()
    page.locator(".environment-compare input.only-differences").uncheck()
    expect(table.locator("tbody tr[data-env='python']")).to_be_visible()


def test_the_project_table_has_no_system_metric_columns(site):
    import json
    import urllib.request

    project_id = json.load(urllib.request.urlopen(f"{site.base}/ui/data/projects"))["projects"][0]["id"]
    rows = json.load(urllib.request.urlopen(f"{site.base}/ui/data/projects/{project_id}"))["experiments"]
    assert all(set(row["lines"]) == {"train/loss"} for row in rows)
