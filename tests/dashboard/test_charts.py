"""Charts as a daily user meets them (issue 17, items 1-7 and the markers of 11), in a real browser:
log scale after a box zoom, legend-hidden traces that stay hidden, whole-step ticks, a constant
series, big and NaN values, downloads without any cloud link, and the toolbar beside (not over)
a confusion matrix."""

from __future__ import annotations

import csv
import io
import math
import re
from types import SimpleNamespace

import pytest

from dashhelpers import live_ui, open_ready, panel, release
from trackboard import Client, LogType

expect = pytest.importorskip("playwright.sync_api").expect

BIG = 6_326_899_123


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    directory = tmp_path_factory.mktemp("charts")
    client = Client(directory=directory)
    project = client.get_or_create_project("charts")
    run = project.create_experiment("run")
    run.log("positive", {"steps": list(range(100)), "values": [10 ** (i / 25) for i in range(100)]}, LogType.LINE)
    run.log("mixed", {"short": {"steps": list(range(30)), "values": [1.0] * 30},
                      "long": {"steps": list(range(100)), "values": [float(i % 7) for i in range(100)]}}, LogType.LINE)
    run.log("four", [3.0, 1.0, 4.0, 1.5], LogType.LINE)
    run.log("fractional", {"steps": [0, 0.25, 0.5, 0.75], "values": [1.0, 2.0, 3.0, 4.0]}, LogType.LINE)
    run.log("constant", [0.35] * 10, LogType.LINE)
    run.log("ends_nan", [1.0, math.nan], LogType.LINE)
    run.log("big", BIG, LogType.VALUE)
    run.log("confusion", {"categories": [f"c{i}" for i in range(6)], "values": [[(i * 7 + j * 3) % 11 for j in range(6)] for i in range(6)]},
            LogType.HEATMAP)
    run.close()
    client.flush()
    with live_ui(directory) as base:
        yield SimpleNamespace(base=base, url=f"{base}/ui/experiments/{run.id}", project=f"{base}/ui/projects/{project.id}")
    release(directory)


def plot(chart):
    return chart.locator(".js-plotly-plot")


def relayout(chart, update: dict) -> None:
    chart.evaluate("(el, update) => Plotly.relayout(el.querySelector('.js-plotly-plot'), update)", update)


def test_log_scale_after_a_box_zoom_shows_the_zoomed_points(page, site):
    """Item 1: the linear y range of a box zoom is not reused as log exponents."""
    open_ready(page, site.url)
    chart = panel(page, "positive")
    relayout(chart, {"xaxis.range[0]": 50, "xaxis.range[1]": 75, "yaxis.range[0]": 100, "yaxis.range[1]": 1000})
    expect(chart).to_have_attribute("data-range", "50,75")
    chart.get_by_role("button", name="Log").click()
    y = plot(chart).evaluate("el => [el._fullLayout.yaxis.type, el._fullLayout.yaxis.range]")
    assert y[0] == "log" and y[1] == pytest.approx([2, 3])  # 10**2..10**3: the same band, as exponents
    chart.get_by_role("button", name="Log").click()
    assert plot(chart).evaluate("el => el._fullLayout.yaxis.range") == pytest.approx([100, 1000])


def test_traces_hidden_from_the_legend_stay_hidden(page, site):
    """Item 2: a trace hidden from the legend stays hidden through redraws (smoothing, live polls)."""
    open_ready(page, site.url)
    chart = panel(page, "mixed")
    chart.locator(".legend .traces", has_text="short").click()
    visible = "el => el.querySelector('.js-plotly-plot').data.map(t => [t.meta, t.visible])"
    expect(chart.locator(".js-plotly-plot")).to_have_attribute("data-hidden", "short")
    page.get_by_label("Smoothing weight").fill("0.5")
    expect(chart.locator(".scatterlayer .trace")).to_have_count(2)  # long: raw + smoothed; short: hidden
    assert {tuple(t) for t in chart.evaluate(visible)} == {("short", "legendonly"), ("long", True)}
    loads = int(chart.get_attribute("data-loads"))
    plot(chart).evaluate("el => Plotly.relayout(el, {'xaxis.autorange': true})")  # a reset refetches and redraws
    chart.get_by_role("button", name="Log").click()
    assert {tuple(t) for t in chart.evaluate(visible)} == {("short", "legendonly"), ("long", True)}
    assert int(chart.get_attribute("data-loads")) >= loads


def test_whole_steps_have_whole_ticks_and_labels(page, site):
    """Item 4: integer steps get ticks 0, 1, 2, 3 (never 500m) and a zoom footer of whole steps."""
    open_ready(page, site.url)
    chart = panel(page, "four")
    ticks = chart.locator(".xtick text").all_text_contents()
    assert ticks == ["0", "1", "2", "3"]
    relayout(chart, {"xaxis.range[0]": 0.634, "xaxis.range[1]": 2.476})
    expect(chart.locator(".panel-foot")).to_contain_text("steps 1–2 ·")
    fractional = panel(page, "fractional")
    assert any("." in t for t in fractional.locator(".xtick text").all_text_contents())  # fractions stay fractions


def test_markers_are_the_same_for_every_trace_of_a_chart(page, site):
    """Item 11: a chart marks all its traces or none (30 and 100 points: none); a short one marks."""
    open_ready(page, site.url)
    modes = panel(page, "mixed").evaluate("el => el.querySelector('.js-plotly-plot').data.map(t => t.mode)")
    assert modes == ["lines", "lines"]
    assert panel(page, "four").evaluate("el => el.querySelector('.js-plotly-plot').data[0].mode") == "lines+markers"


def test_a_constant_series_is_drawn_around_its_value(page, site):
    """Item 5: a constant LINE reads as its value, not as 0 on a -1..1 axis."""
    open_ready(page, site.url)
    chart = panel(page, "constant")
    low, high = plot(chart).evaluate("el => el._fullLayout.yaxis.range")
    assert low < 0.35 < high and low > 0.2 and high < 0.5
    assert any(re.fullmatch(r"0\.3[0-9]*", t) for t in chart.locator(".ytick text").all_text_contents())


def test_large_and_nan_values_are_shown_whole(page, site):
    """Item 5: a large summary value is not cut off; a NaN last value reads NaN, tooltip included."""
    open_ready(page, site.url)
    card = page.locator(".value-card[data-value='big']")
    expect(card.locator(".value-number")).to_have_text("6.327B")
    assert card.locator(".value-number").evaluate("el => el.scrollWidth <= el.clientWidth")
    assert f"{BIG}" in card.get_attribute("title")
    open_ready(page, site.project)
    headers = page.locator("table.runs thead span.th-label").all_text_contents()
    index = headers.index("ends_nan")
    cell = page.locator("table.runs tbody tr").first.locator("td").nth(index + 2)  # after the check and star cells
    expect(cell).to_have_text("NaN")
    assert cell.get_attribute("title") == "ends_nan = NaN at step 1"


def test_no_cloud_links_and_png_svg_csv_downloads(page, site):
    """Item 6: nothing uploads to Plotly's cloud; PNG, SVG and full-resolution CSV downloads."""
    open_ready(page, site.url)
    chart = panel(page, "positive")
    chart.hover()
    titles = chart.locator(".modebar-btn").evaluate_all("buttons => buttons.map(b => b.getAttribute('data-title'))")
    assert not [t for t in titles if re.search(r"cloud|chart studio|share|edit in", t or "", re.I)], titles
    assert any(re.search(r"png", t or "", re.I) for t in titles)
    assert "Download plot as SVG" in titles and "Download data as CSV (full resolution)" in titles
    assert page.locator("a[href*='plot.ly'], a[href*='plotly.com'], a[href*='chart-studio']").count() == 0
    with page.expect_download() as download:
        chart.locator(".modebar-btn[data-title='Download data as CSV (full resolution)']").click()
    rows = list(csv.reader(io.StringIO(open(download.value.path()).read())))
    assert rows[0] == ["experiment", "series", "step", "value", "time", "epoch"] and len(rows) == 101
    assert float(rows[-1][3]) == pytest.approx(10 ** (99 / 25))
    with page.expect_download() as download:
        chart.locator(".modebar-btn[data-title='Download plot as SVG']").click()
    assert download.value.suggested_filename == "positive.svg"
    assert open(download.value.path(), "rb").read(200).lstrip().startswith(b"<svg")


def test_the_toolbar_leaves_the_confusion_matrix_uncovered(page, site):
    """Item 7: the chart toolbar sits above the matrix, its icons at >= 4.5:1 contrast."""
    open_ready(page, site.url)
    chart = panel(page, "confusion")
    chart.hover()
    bar = chart.locator(".modebar").bounding_box()
    cells = chart.locator(".heatmaplayer").bounding_box()
    assert bar["y"] + bar["height"] <= cells["y"] + 0.5, (bar, cells)
    colour = plot(chart).evaluate("el => el._fullLayout.modebar.color")
    background = chart.evaluate("el => getComputedStyle(el).backgroundColor")
    assert contrast(colour, background) >= 4.5, (colour, background)


def contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        if colour.startswith("#"):
            rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
        else:
            rgb = [float(x) for x in re.findall(r"[\d.]+", colour)[:3]]
        lin = [(c / 255 / 12.92) if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    high, low = sorted([luminance(a), luminance(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_a_line_chart_is_sketched_before_plotly_loads_and_plotly_takes_over(page, site):
    """Speed: the first screen's curves are drawn (an SVG sketch of the same points and colours)
    while plotly.js is still loading; once it is, plotly replaces the sketch and hover and zoom work."""
    held = []
    page.route("**/vendor/plotly.min.js", lambda route: held.append(route))  # plotly.js waits for the test
    open_ready(page, site.url)  # the first screen is ready without plotly
    chart = page.locator("section.panel[data-log='positive']")
    sketch = chart.locator("svg.chart-sketch")
    expect(sketch).to_have_count(1)
    assert page.evaluate("() => window.Plotly === undefined")
    line = sketch.locator("path.sketch-line")
    expect(line).to_have_count(1)
    assert line.get_attribute("stroke") == "#4f46e5"  # the chart's colour (colorAt(0))
    assert len(re.findall(r"[ML]", line.get_attribute("d"))) == 100  # every point of the series
    box = sketch.bounding_box()
    assert box["height"] == pytest.approx(270, abs=1) and box["width"] > 200
    assert held, "plotly.js was requested"

    for route in held:
        route.continue_()
    page.unroute("**/vendor/plotly.min.js")
    expect(plot(chart)).to_have_count(1)
    expect(sketch).to_have_count(0)
    drawn = plot(chart).evaluate("el => el.data.map(t => [t.line.color, t.y.length])")
    assert drawn == [["#4f46e5", 100]]
    # Hover and zoom are plotly's now.
    drag = chart.locator(".nsewdrag").first.bounding_box()
    page.mouse.move(drag["x"] + drag["width"] / 2, drag["y"] + drag["height"] / 2)
    expect(chart.locator(".hoverlayer .hovertext, .hoverlayer .legend")).not_to_have_count(0)
    relayout(chart, {"xaxis.range[0]": 10, "xaxis.range[1]": 20})
    expect(chart).to_have_attribute("data-range", "10,20")


def test_a_sketch_drawn_before_plotly_follows_a_theme_switch(page, site):
    """The sketch drawn while plotly.js loads takes the new theme's colours when the system
    switches between light and dark, without waiting for plotly."""
    held = []
    page.route("**/vendor/plotly.min.js", lambda route: held.append(route))
    page.emulate_media(color_scheme="light")
    open_ready(page, site.url)
    labels = page.locator("section.panel[data-log='positive'] svg.chart-sketch text")
    expect(labels.first).to_have_attribute("fill", "#374151")
    page.emulate_media(color_scheme="dark")
    expect(labels.first).to_have_attribute("fill", "#c9cfdb")
    assert page.evaluate("() => window.Plotly === undefined")
    for route in held:
        route.continue_()
    page.unroute("**/vendor/plotly.min.js")
