"""The experiment page in a real browser: every log type renders from logged data, charts hover,
zoom (refetching the visible range) and toggle log scale and smoothing, hostile names stay text,
and a RUNNING experiment updates itself without a reload."""

from __future__ import annotations

import math
import re
import time
import urllib.request
from types import SimpleNamespace

import pytest

from dashhelpers import live_ui, open_ready, panel, png_bytes, release
from trackboard import Client, LogType

expect = pytest.importorskip("playwright.sync_api").expect

HOSTILE = "<img src=x onerror=alert(1)>"
MISCLASSIFIED = {1, 4, 7}


def sample(i: int) -> dict:
    truth = "cat" if i % 2 else "dog"
    wrong = "dog" if truth == "cat" else "cat"
    return {"id": f"s{i}", "ground_truth": truth, "prediction": wrong if i in MISCLASSIFIED else truth, "score": 0.5 + i / 40}


SAMPLES = [sample(i) for i in range(10)]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    directory = tmp_path_factory.mktemp("experiment-page")
    client = Client(directory=directory)
    project = client.get_or_create_project("vision")

    run = project.create_experiment("run-1", parameters={"lr": 0.01, "batch_size": 32, "optimizer": {"name": "adam", "betas": [0.9, 0.999]}})
    run.log("accuracy", 0.9731, LogType.VALUE)
    run.log("notes", "baseline", LogType.VALUE)
    run.log("train/loss", [2.0, 1.5, 1.0, 0.75, 0.5, 0.35, 0.25, 0.125], LogType.LINE)
    run.log("train/losses", {"loss1": [3.0, 2.0, 1.0], "loss2": [2.5, 1.5, 0.5]}, LogType.LINE)
    run.log("val/accuracy", {"steps": [0, 10, 20], "values": [0.5, 0.7, 0.9]}, LogType.LINE)
    run.log("long", {"steps": list(range(20_000)), "values": [math.sin(i / 300) for i in range(20_000)]}, LogType.LINE)
    run.log("with_nan", [1.0, math.nan, 2.0, math.inf, 3.0], LogType.LINE)
    run.log("per_class", {"x": ["cat", "dog", "bird"], "y": [0.9, 0.8, 0.7]}, LogType.BAR)
    run.log("confusion", {"categories": ["cat", "dog"], "values": [[6, 2, 0], [1, 7, 2], [3, 1, 0]]}, LogType.HEATMAP)
    run.log("labelmap", ["cat", "dog"], LogType.LABELMAP)
    run.log("matrix", {"data": [[1, 2], [3, 4]], "rows": ["a", "b"], "columns": ["x", "y"]}, LogType.TABLE)
    run.log("evaluation", {"metrics": {"accuracy": 0.7, "f1": 0.69}, "per_class": {"cat": {"recall": 0.6}, "dog": {"recall": 0.8}},
                           "samples": SAMPLES, "split": "test"}, LogType.EVALUATION)
    run.log("sample", png_bytes(64, 48), LogType.IMAGE)
    weights = directory / "weights.bin"
    weights.write_bytes(b"\x00\x01weights" * 100)
    run.store("weights", weights)
    run.close()

    live = project.create_experiment("live-run")
    live.log("loss", [1.0, 0.8, 0.6], LogType.LINE)
    live.flush()

    hostile = project.create_experiment(HOSTILE)
    hostile.log(HOSTILE, [1.0, 2.0, 3.0], LogType.LINE)
    hostile.log("<b>v</b>", 1.5, LogType.VALUE)
    hostile.log("bars", {"x": [HOSTILE, "<i>y</i>"], "y": [1, 2]}, LogType.BAR)
    hostile.log("heat", {"categories": [HOSTILE, "ok"], "values": [[1, 0], [0, 1]]}, LogType.HEATMAP)
    hostile.log("table", {HOSTILE: "<script>alert(2)</script>"}, LogType.TABLE)
    hostile.log("labels", [HOSTILE], LogType.LABELMAP)
    hostile.close()
    client.flush()
    with live_ui(directory) as base:
        yield SimpleNamespace(base=base, run=f"{base}/ui/experiments/{run.id}", live=live,
                              live_url=f"{base}/ui/experiments/{live.id}", hostile=f"{base}/ui/experiments/{hostile.id}")
    release(directory)


def point_position(page, chart_panel, step: float, value: float) -> tuple[float, float]:
    """Page coordinates of a data point of the panel's chart."""
    return tuple(chart_panel.evaluate(
        """(el, [step, value]) => {
            const gd = el.querySelector('.js-plotly-plot');
            const area = gd.querySelector('.nsewdrag').getBoundingClientRect();
            return [area.left + gd._fullLayout.xaxis.d2p(step), area.top + gd._fullLayout.yaxis.d2p(value)];
        }""", [step, value]))


def traces(chart_panel) -> list[dict]:
    return chart_panel.evaluate("el => el.querySelector('.js-plotly-plot').data.map(t => ({name: t.name, x: t.x, y: t.y, opacity: t.opacity}))")


def test_values_are_the_summary(page, site):
    open_ready(page, site.run)
    expect(page.locator(".value-card[data-value='accuracy'] .value-number")).to_have_text("0.9731")
    expect(page.locator(".value-card[data-value='notes'] .value-number")).to_have_text("baseline")
    expect(page.locator("section.panel[data-type='VALUE']")).to_have_count(0)


def test_panels_are_grouped_by_name_prefix(page, site):
    open_ready(page, site.run)
    groups = page.locator("section.group:not([hidden])")
    assert [g.get_attribute("data-group") for g in groups.all()] == ["train", "val", ""]
    train = page.locator("section.group[data-group='train']")
    expect(train.locator("section.panel")).to_have_count(2)
    expect(train.locator("section.panel[data-log='train/loss'] .panel-title")).to_have_text("loss")
    expect(page.locator("section.group[data-group='val'] section.panel[data-log='val/accuracy']")).to_have_count(1)


def test_line_panel_draws_each_series(page, site):
    open_ready(page, site.run)
    single = panel(page, "train/loss")
    assert single.get_attribute("data-points") == "8"
    assert traces(single)[0]["y"] == [2.0, 1.5, 1.0, 0.75, 0.5, 0.35, 0.25, 0.125]
    several = panel(page, "train/losses")
    expect(several.locator(".scatterlayer .trace")).to_have_count(2)
    assert [t["name"] for t in traces(several)] == ["loss1", "loss2"]
    expect(several.locator(".legend")).to_contain_text("loss1")
    stepped = panel(page, "val/accuracy")
    assert traces(stepped)[0]["x"] == [0, 10, 20]


def test_hover_shows_the_value_of_a_point(page, site):
    open_ready(page, site.run)
    chart = panel(page, "train/loss")
    x, y = point_position(page, chart, 5, 0.35)
    page.mouse.move(x, y)
    hover = chart.locator(".hoverlayer")
    expect(hover).to_contain_text("0.35")
    expect(hover).to_contain_text("train/loss")


def test_box_zoom_refetches_the_visible_range_and_reset_restores(page, site):
    open_ready(page, site.run)
    chart = panel(page, "long")
    assert chart.get_attribute("data-points") == "20000"
    assert int(chart.get_attribute("data-shown")) < 20_000  # downsampled on the server
    x1, y = point_position(page, chart, 5_000, 0)
    x2, _ = point_position(page, chart, 6_000, 0)
    with page.expect_request(lambda r: "/series?" in r.url and "step_min" in r.url) as request:
        page.mouse.move(x1, y)
        page.mouse.down()
        page.mouse.move((x1 + x2) / 2, y + 2, steps=4)
        page.mouse.move(x2, y + 2, steps=4)
        page.mouse.up()
    query = dict(re.findall(r"(step_min|step_max)=(-?[\d.]+)", request.value.url))
    assert 4_700 <= float(query["step_min"]) <= 5_300 and 5_700 <= float(query["step_max"]) <= 6_300
    expect(chart).to_have_attribute("data-range", re.compile(r"^[\d.]+,[\d.]+$"))
    # Few enough points in the range: they come back at full resolution.
    page.wait_for_function("el => el.dataset.points && el.dataset.points === el.dataset.shown && el.dataset.range", arg=chart.element_handle())
    assert 800 <= int(chart.get_attribute("data-points")) <= 1_400
    expect(chart.locator(".panel-foot")).to_contain_text("full resolution")
    with page.expect_request(lambda r: "/series?" in r.url and "step_min" not in r.url):
        chart.get_by_role("button", name="Reset zoom").click()
    expect(chart).to_have_attribute("data-range", "")
    expect(chart).to_have_attribute("data-points", "20000")


def test_log_scale_and_the_page_smoothing_control(page, site):
    open_ready(page, site.run)
    chart = panel(page, "train/loss")
    chart.get_by_role("button", name="Log").click()
    assert chart.evaluate("el => el.querySelector('.js-plotly-plot')._fullLayout.yaxis.type") == "log"
    # One smoothing control for the page: every chart refetches its series smoothed by the server.
    other = panel(page, "val/accuracy")
    with page.expect_request(lambda r: "name=train%2Floss" in r.url and "smoothing=0.6" in r.url):
        page.get_by_label("Smoothing weight").fill("0.6")
    expect(chart.locator(".scatterlayer .trace")).to_have_count(2)
    expect(other.locator(".scatterlayer .trace")).to_have_count(2)
    raw, smoothed = traces(chart)
    assert raw["opacity"] < 1 and raw["y"] == [2.0, 1.5, 1.0, 0.75, 0.5, 0.35, 0.25, 0.125]
    assert smoothed["y"][0] == pytest.approx(2.0) and smoothed["y"][-1] > 0.125
    assert "smoothing=0.6" in page.url  # kept in the URL: a reload keeps it
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    expect(panel(page, "train/loss").locator(".scatterlayer .trace")).to_have_count(2)
    page.get_by_label("Smoothing weight").fill("0")
    expect(panel(page, "train/loss").locator(".scatterlayer .trace")).to_have_count(1)


def test_non_finite_points_are_gaps_and_counted(page, site):
    open_ready(page, site.run)
    chart = panel(page, "with_nan")
    assert traces(chart)[0]["y"] == [1.0, None, 2.0, None, 3.0]
    expect(chart.locator(".panel-foot")).to_contain_text("1 NaN")
    expect(chart.locator(".panel-foot")).to_contain_text("1 ±inf")


def test_bar_panel(page, site):
    open_ready(page, site.run)
    bars = panel(page, "per_class")
    expect(bars.locator(".bars .point")).to_have_count(3)
    assert bars.locator(".xtick text").all_text_contents() == ["cat", "dog", "bird"]


def test_heatmap_has_counts_names_fp_fn_and_a_normalised_view(page, site):
    open_ready(page, site.run)
    heat = panel(page, "confusion")
    assert heat.locator(".ytick text").all_text_contents() == ["cat", "dog", "FP"]
    assert heat.locator(".xtick text").all_text_contents() == ["cat", "dog", "FN"]
    cells = heat.locator(".hm text, .heatmaplayer text")
    assert sorted(cells.all_text_contents()) == sorted(["6", "2", "0", "1", "7", "2", "3", "1", "0"])
    heat.get_by_role("button", name="Normalise").click()
    expect(heat.locator(".panel-foot")).to_contain_text("normalised")
    texts = heat.locator(".hm text, .heatmaplayer text").all_text_contents()
    assert texts[:3] == ["75%", "25%", "0%"]


def test_table_panel_flattens_nested_keys_and_searches(page, site):
    open_ready(page, site.run)
    table = panel(page, "parameters")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(4)
    keys = table.locator("tbody tr td:first-child").all_text_contents()
    assert keys == ["lr", "batch_size", "optimizer.name", "optimizer.betas"]
    expect(table.locator("tbody tr", has_text="optimizer.betas")).to_contain_text("[0.9,0.999]")
    table.get_by_placeholder("Search…").fill("optim")
    expect(rows).to_have_count(2)
    table.get_by_placeholder("Search…").fill("adam")
    expect(rows).to_have_count(1)


def test_matrix_table(page, site):
    open_ready(page, site.run)
    table = panel(page, "matrix")
    assert table.locator("thead th").all_text_contents()[1:] == ["x", "y"]
    assert [r.locator("td").all_text_contents() for r in table.locator("tbody tr").all()] == [["a", "1", "2"], ["b", "3", "4"]]


def test_image_thumbnail_opens_full_size(page, site):
    open_ready(page, site.run)
    image = panel(page, "sample")
    thumb = image.locator("img.thumb-image")
    page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=thumb.element_handle())
    expect(image.locator(".panel-foot")).to_contain_text("64×48")
    image.locator("button.thumb").click()
    viewer = page.locator("dialog.viewer")
    expect(viewer).to_be_visible()
    # Larger than the thumbnail: a small image is scaled up in whole pixels to fill the screen.
    page.wait_for_function("() => { const i = document.querySelector('dialog.viewer img'); return i.complete && i.naturalWidth === 64 && i.clientWidth >= 64 * 8; }")
    assert page.locator("dialog.viewer img").evaluate("i => getComputedStyle(i).imageRendering") == "pixelated"
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()


def test_labelmap_is_a_table(page, site):
    open_ready(page, site.run)
    labels = panel(page, "labelmap")
    assert [r.locator("td").all_text_contents() for r in labels.locator("tbody tr").all()] == [["0", "cat"], ["1", "dog"]]


def test_evaluation_cards_per_class_and_misclassified_filter(page, site):
    open_ready(page, site.run)
    evaluation = panel(page, "evaluation")
    expect(evaluation.locator(".metric-card", has_text="accuracy").locator(".metric-value")).to_have_text("0.7")
    expect(evaluation.locator(".metric-card")).to_have_count(2)
    expect(evaluation).to_contain_text("Split: test")
    per_class = evaluation.locator(".table-block").first
    expect(per_class.locator("tbody tr")).to_have_count(2)
    samples = evaluation.locator(".samples")
    expect(samples.locator("tbody tr")).to_have_count(10)
    samples.get_by_label(re.compile("Misclassified only")).check()
    expect(samples.locator("tbody tr")).to_have_count(3)
    assert sorted(samples.locator("tbody tr td:first-child").all_text_contents()) == ["s1", "s4", "s7"]
    expect(samples.locator("tbody tr.wrong")).to_have_count(3)


def test_artifacts_have_download_links(page, site):
    open_ready(page, site.run)
    link = page.locator(".artifacts-card a", has_text="Download")
    expect(link).to_have_count(1)
    href = link.get_attribute("href")
    with urllib.request.urlopen(site.base + href) as response:
        assert response.read() == b"\x00\x01weights" * 100
        assert "attachment" in response.headers["content-disposition"]


def test_hostile_names_are_shown_as_text(page, site):
    open_ready(page, site.hostile)
    expect(page.locator("h1")).to_have_text(HOSTILE)
    assert HOSTILE in page.title()
    line = panel(page, HOSTILE)
    expect(line.locator(".panel-title")).to_have_text(HOSTILE)
    expect(page.locator(".value-card .value-name")).to_have_text("<b>v</b>")
    bars = panel(page, "bars")
    assert bars.locator(".xtick text").all_text_contents() == [HOSTILE, "<i>y</i>"]
    heat = panel(page, "heat")
    assert heat.locator(".ytick text").all_text_contents() == [HOSTILE, "ok"]
    table = panel(page, "table")
    expect(table.locator("tbody td").first).to_have_text(HOSTILE)
    expect(table.locator("tbody td").nth(1)).to_have_text("<script>alert(2)</script>")
    labels = panel(page, "labels")
    expect(labels.locator("tbody td").nth(1)).to_have_text(HOSTILE)
    page.wait_for_timeout(300)  # an injected onerror would have fired by now
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("main b, main i, main script").count() == 0
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0
    # (the page fixture fails the test if a dialog opened)


def test_a_running_experiment_updates_itself(page, site):
    open_ready(page, site.live_url)
    chart = panel(page, "loss")
    assert chart.get_attribute("data-points") == "3"
    expect(page.locator(".live")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    site.live.log("loss", [0.5, 0.4], LogType.LINE)
    site.live.log("lr", 0.001, LogType.VALUE)
    site.live.log("grad_norm", [1.0, 2.0], LogType.LINE)
    site.live.flush()
    start = time.monotonic()
    expect(chart).to_have_attribute("data-points", "5", timeout=2_000)
    assert time.monotonic() - start <= 2.0
    assert traces(chart)[0]["y"] == [1.0, 0.8, 0.6, 0.5, 0.4]
    expect(page.locator(".value-card[data-value='lr']")).to_be_visible()
    panel(page, "grad_norm")
    assert page.evaluate("window.notReloaded") is True
    site.live.close()
    expect(page.locator(".page-title .status")).to_have_text("SUCCESS", timeout=3_000)
    expect(page.locator(".live")).to_be_hidden()
