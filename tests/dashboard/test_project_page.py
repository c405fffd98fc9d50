"""The projects list and a project page in a real browser: rows, sorting, filtering, the best run
for a chosen metric, and selecting rows to compare."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dashhelpers import live_ui, open_ready, release
from trackboard import Client, LogType

expect = pytest.importorskip("playwright.sync_api").expect

RUNS = [  # name, lr, accuracy, final loss, status
    ("alpha", 0.1, 0.81, 0.52, "SUCCESS"),
    ("bravo", 0.01, 0.93, 0.21, "SUCCESS"),
    ("charlie", 0.001, 0.88, 0.35, "FAILED"),
    ("delta", 0.05, 0.90, 0.18, "RUNNING"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    directory = tmp_path_factory.mktemp("project-page")
    client = Client(directory=directory)
    project = client.get_or_create_project("sweep", "A learning-rate sweep")
    client.get_or_create_project("empty-project")
    ids = {}
    for name, lr, accuracy, loss, status in RUNS:
        run = project.create_experiment(name, parameters={"lr": lr, "model": {"depth": 18}})
        run.log("accuracy", accuracy, LogType.VALUE)
        run.log("train/loss", [1.0, 0.7, loss], LogType.LINE)
        run.log("metrics", {"top1": [0.5, accuracy], "top5": [0.8, 0.99]}, LogType.LINE)
        if status == "RUNNING":
            run.flush()
        else:
            run.close(status)
        ids[name] = run.id
    client.flush()
    with live_ui(directory) as base:
        yield SimpleNamespace(base=base, url=f"{base}/ui/projects/{project.id}", ids=ids)
    release(directory)


def names(page) -> list[str]:
    return page.locator("table.runs tbody tr td.name-cell").all_text_contents()


def column_header(page, label: str):
    return page.locator("table.runs thead th.sortable", has=page.locator(f"span.th-label:text-is('{label}')"))


def test_projects_list_links_to_projects(page, site):
    open_ready(page, f"{site.base}/ui/")
    card = page.locator(".project-card[data-project='sweep']")
    expect(card).to_contain_text("4 experiments")
    expect(card).to_contain_text("A learning-rate sweep")
    expect(page.locator(".project-card[data-project='empty-project']")).to_contain_text("0 experiments")
    card.click()
    page.wait_for_selector("body[data-ready='1']")
    assert page.url == site.url


def test_every_experiment_is_a_row_with_values_last_values_and_parameters(page, site):
    open_ready(page, site.url)
    expect(page.locator("table.runs tbody tr")).to_have_count(4)
    heads = page.locator("table.runs thead span.th-label").all_text_contents()
    assert heads == ["Name", "Status", "Created", "Duration", "accuracy", "train/loss", "metrics · top1", "metrics · top5", "lr", "model.depth"]
    groups = page.locator("table.runs thead .group-head").all_text_contents()
    assert groups == ["Experiment", "Values", "Last value", "Parameters"]
    bravo = page.locator("table.runs tbody tr", has_text="bravo")
    cells = bravo.locator("td").all_text_contents()
    assert cells[2] == "bravo" and cells[3] == "SUCCESS"
    assert cells[6:] == ["0.93", "0.21", "0.93", "0.99", "0.01", "18"]
    expect(page.locator("table.runs tbody tr", has_text="delta").locator(".status")).to_have_text("RUNNING")


def test_sorting_by_any_column(page, site):
    open_ready(page, site.url)
    assert names(page) == ["delta", "charlie", "bravo", "alpha"]  # newest first by default
    column_header(page, "accuracy").click()
    assert names(page) == ["bravo", "delta", "charlie", "alpha"]  # a metric sorts best... highest first
    column_header(page, "accuracy").click()
    assert names(page) == ["alpha", "charlie", "delta", "bravo"]
    column_header(page, "lr").click()
    assert names(page) == ["alpha", "delta", "bravo", "charlie"]
    column_header(page, "Name").click()
    assert names(page) == ["alpha", "bravo", "charlie", "delta"]
    column_header(page, "Name").click()
    assert names(page) == ["delta", "charlie", "bravo", "alpha"]


def test_filter_by_name_and_status(page, site):
    open_ready(page, site.url)
    page.get_by_placeholder("Filter by name…").fill("a")
    expect(page.locator("table.runs tbody tr")).to_have_count(4)
    page.get_by_placeholder("Filter by name…").fill("ha")
    expect(page.locator("table.runs tbody tr")).to_have_count(2)  # alpha, charlie
    page.get_by_placeholder("Filter by name…").fill("")
    page.locator("select.status-filter").select_option("FAILED")
    expect(page.locator("table.runs tbody tr")).to_have_count(1)
    assert names(page) == ["charlie"]
    expect(page.locator(".count-label")).to_have_text("1 of 4 experiments")


def test_best_run_for_a_chosen_metric(page, site):
    open_ready(page, site.url)
    best = page.locator(".best-card")
    # Default metric: accuracy, higher is better.
    expect(best).to_contain_text("bravo")
    expect(best).to_have_attribute("data-best", site.ids["bravo"])
    expect(page.locator("table.runs tbody tr.best")).to_have_count(1)
    expect(page.locator("table.runs tbody tr.best td.name-cell")).to_have_text("bravo")
    page.locator("select.best-metric-select").select_option(label="train/loss")
    expect(best).to_have_attribute("data-best", site.ids["delta"])  # a loss: lowest is best
    expect(page.get_by_role("button", name="Lower is better")).to_be_visible()
    page.get_by_role("button", name="Lower is better").click()
    expect(best).to_have_attribute("data-best", site.ids["alpha"])
    # The best among the shown rows only.
    page.get_by_role("button", name="Higher is better").click()
    page.locator("select.status-filter").select_option("SUCCESS")
    expect(best).to_have_attribute("data-best", site.ids["bravo"])
    page.get_by_role("button", name="Sort by it").click()
    assert names(page)[0] == "bravo"


def test_select_rows_to_compare(page, site):
    open_ready(page, site.url)
    compare = page.locator("button.compare-button")
    expect(compare).to_be_disabled()
    page.locator("table.runs tbody tr", has_text="alpha").locator("input.row-check").check()
    expect(compare).to_be_disabled()
    page.locator("table.runs tbody tr", has_text="bravo").locator("input.row-check").check()
    expect(compare).to_be_enabled()
    expect(compare).to_have_text("Compare 2 selected")
    compare.click()
    page.wait_for_selector("body[data-ready='1']")
    assert "/ui/compare?ids=" in page.url
    assert site.ids["alpha"] in page.url and site.ids["bravo"] in page.url


def test_select_top_runs(page, site):
    open_ready(page, site.url)
    page.get_by_role("button", name="Select top 5").click()
    expect(page.locator("table.runs tbody tr.selected")).to_have_count(4)
    expect(page.locator("button.compare-button")).to_have_text("Compare 4 selected")
