"""The compare view in a real browser: LINE logs overlaid with a colour per experiment, VALUE logs
side by side, and the parameters that differ highlighted."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dashhelpers import live_ui, open_ready, panel, release
from trackboard import Client, LogType

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    directory = tmp_path_factory.mktemp("compare")
    client = Client(directory=directory)
    project = client.get_or_create_project("compare-me")
    a = project.create_experiment("small-lr", parameters={"lr": 0.001, "batch_size": 64, "optimizer": {"name": "adam"}})
    b = project.create_experiment("big-lr", parameters={"lr": 0.1, "batch_size": 64, "optimizer": {"name": "sgd"}, "nesterov": True})
    for run, scale, accuracy in ((a, 1.0, 0.91), (b, 0.5, 0.87)):
        run.log("train/loss", [3 * scale, 2 * scale, 1 * scale], LogType.LINE)
        run.log("val/metrics", {"top1": [0.5 * scale, 0.6 * scale], "top5": [0.8, 0.9]}, LogType.LINE)
        run.log("accuracy", accuracy, LogType.VALUE)
        run.close()
    b.log("only_b", [1.0, 2.0], LogType.LINE)
    b.flush()
    client.flush()
    with live_ui(directory) as base:
        yield SimpleNamespace(base=base, url=f"{base}/ui/compare?ids={a.id},{b.id}", a=a.id, b=b.id)
    release(directory)


def test_line_logs_are_overlaid_one_colour_per_experiment(page, site):
    open_ready(page, site.url)
    expect(page.locator(".legend .legend-item")).to_have_count(2)
    chart = panel(page, "train/loss")
    drawn = chart.evaluate("el => el.querySelector('.js-plotly-plot').data.map(t => ({name: t.name, y: t.y, color: t.line.color}))")
    assert [t["name"] for t in drawn] == ["small-lr", "big-lr"]
    assert drawn[0]["y"] == [3.0, 2.0, 1.0] and drawn[1]["y"] == [1.5, 1.0, 0.5]
    assert drawn[0]["color"] != drawn[1]["color"]
    expect(chart.locator(".scatterlayer .trace")).to_have_count(2)
    expect(chart).to_have_attribute("data-experiments", "2")
    # Several series per experiment: the colour is the experiment's, the dash the series'.
    metrics = panel(page, "val/metrics")
    drawn = metrics.evaluate("el => el.querySelector('.js-plotly-plot').data.map(t => ({name: t.name, color: t.line.color, dash: t.line.dash}))")
    assert [t["name"] for t in drawn] == ["small-lr · top1", "small-lr · top5", "big-lr · top1", "big-lr · top5"]
    assert drawn[0]["color"] == drawn[1]["color"] != drawn[2]["color"]
    assert drawn[0]["dash"] != drawn[1]["dash"]
    # A log only one experiment has is still shown.
    only = panel(page, "only_b")
    expect(only.locator(".scatterlayer .trace")).to_have_count(1)


def test_values_side_by_side(page, site):
    open_ready(page, site.url)
    row = page.locator(".values-table tbody tr[data-value='accuracy']")
    assert row.locator("td").all_text_contents() == ["0.91", "0.87"]
    expect(row.locator("td.best-cell")).to_have_text("0.91")
    assert page.locator(".values-table thead th").all_text_contents()[1:] == ["small-lr", "big-lr"]


def test_parameters_that_differ_are_highlighted(page, site):
    open_ready(page, site.url)
    table = page.locator(".params-table")
    differing = table.locator("tbody tr.differs th").all_text_contents()
    assert sorted(differing) == ["lr", "nesterov", "optimizer.name"]
    expect(table.locator("tbody tr[data-param='batch_size']")).not_to_have_class("differs")
    assert table.locator("tbody tr[data-param='nesterov'] td").all_text_contents() == ["—", "true"]
    page.get_by_label("Only differences (3 of 4)").check()
    expect(table.locator("tbody tr[data-param='batch_size']")).to_be_hidden()
    expect(table.locator("tbody tr[data-param='lr']")).to_be_visible()


def test_box_zoom_in_compare_refetches_both(page, site):
    open_ready(page, site.url)
    chart = panel(page, "train/loss")
    with page.expect_request(lambda r: "/compare/series?" in r.url and "step_min" in r.url):
        chart.evaluate("el => Plotly.relayout(el.querySelector('.js-plotly-plot'), {'xaxis.range[0]': 0.5, 'xaxis.range[1]': 2})")
    expect(chart).to_have_attribute("data-range", "0.5,2")
    drawn = chart.evaluate("el => el.querySelector('.js-plotly-plot').data.map(t => t.x)")
    assert drawn == [[1, 2], [1, 2]]
