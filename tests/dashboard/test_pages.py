"""Pages as a daily user meets them (issue 17, items 8-12 and dark mode), in a real browser: a
banner when the server stops (and recovery), compare views of many runs inside the window, page
state in the URL, focus kept through refreshes, error pages, image history, complete full-page
captures, and the dark theme."""

from __future__ import annotations

import csv
import io
import urllib.parse
from types import SimpleNamespace

import pytest

from dashhelpers import live_ui, open_ready, panel, png_bytes, release
from live_process import free_port
from trackboard import Client, LogType

expect = pytest.importorskip("playwright.sync_api").expect

RUNS = 55  # more than the 50 one compare view shows
COLOURS = [(220, 40, 40), (40, 200, 60), (40, 60, 220)]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pages")
    client = Client(directory=directory)
    sweep = client.get_or_create_project("sweep")
    ids = []
    for i in range(RUNS):
        run = sweep.create_experiment(f"a-rather-long-experiment-name-{i:02d}", parameters={"lr": 10 ** -(1 + i % 4), "seed": i})
        run.log("loss", [1.0 / (i + 1), 0.5 / (i + 1), 0.25 / (i + 1)], LogType.LINE)
        run.log("accuracy", i / RUNS, LogType.VALUE)
        run.close()
        ids.append(run.id)
    live = sweep.create_experiment("live-run")
    live.log("loss", [1.0, 0.9], LogType.LINE)
    live.flush()
    client.get_or_create_project("second")
    client.get_or_create_project("third", "with a description that wraps onto a second line of the card, making it taller")

    panels = client.get_or_create_project("panels").create_experiment("fourteen")
    for k in range(14):
        panels.log(f"metric_{k:02d}", [float(k), float(k + 1)], LogType.LINE)
    for colour in COLOURS:
        panels.log("prediction", png_bytes(16, 12, colour), LogType.IMAGE)
    samples = [{"id": f"s{i}", "ground_truth": "cat" if i % 2 else "dog",
                "prediction": ("dog" if i % 2 else "cat") if i % 6 == 0 else ("cat" if i % 2 else "dog")} for i in range(120)]
    panels.log("evaluation", {"metrics": {"accuracy": 0.83}, "samples": samples}, LogType.EVALUATION)
    panels.close()
    client.flush()
    with live_ui(directory) as base:
        yield SimpleNamespace(base=base, directory=directory, ids=ids, live=live,
                              project=f"{base}/ui/projects/{sweep.id}", panels=f"{base}/ui/experiments/{panels.id}",
                              live_url=f"{base}/ui/experiments/{live.id}")
    live.close()
    release(directory)


def test_a_banner_when_the_server_stops_and_recovery(page, site):
    """Item 8: requests failing show a banner and drop "Live"; the server back, both recover."""
    port = free_port()
    with live_ui(site.directory, port=port) as base:
        open_ready(page, f"{base}/ui/experiments/{site.live.id}")
        expect(page.locator(".live")).to_be_visible()
        expect(page.locator(".connection-banner")).to_have_count(0)
    banner = page.locator(".connection-banner")
    expect(banner).to_be_visible(timeout=5_000)
    expect(banner).to_contain_text("not answering")
    expect(page.locator(".live")).to_be_hidden()
    assert page.locator("body").get_attribute("data-connection") == "offline"
    with live_ui(site.directory, port=port):
        expect(banner).to_be_hidden(timeout=8_000)
        expect(page.locator(".live")).to_be_visible()


def test_compare_of_thirty_runs_stays_inside_the_window(page, site):
    """Item 9: 30 runs at 1440 px: no page overflow, 30 distinct colours, the plot keeps its size."""
    page.set_viewport_size({"width": 1440, "height": 1000})
    open_ready(page, f"{site.base}/ui/compare?ids={','.join(site.ids[:30])}")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 1440
    table = page.locator(".params-table")
    assert table.evaluate("t => t.closest('.table-scroll').scrollWidth > t.closest('.table-scroll').clientWidth")  # scrolls inside
    first = table.locator("tbody th").first
    before = first.bounding_box()["x"]
    table.evaluate("t => { t.closest('.table-scroll').scrollLeft = 400; }")
    assert first.bounding_box()["x"] == pytest.approx(before, abs=1)  # the row labels stay (sticky)
    chart = panel(page, "loss")
    colours = chart.evaluate("el => el.querySelector('.js-plotly-plot').data.map(t => t.line.color)")
    assert len(colours) == 30 and len(set(colours)) == 30
    plot_height = chart.locator(".nsewdrag").first.bounding_box()["height"]
    assert plot_height >= 180  # no legend squeezing the plot; the page legend names the colours
    expect(page.locator(".legend .legend-item")).to_have_count(30)


def test_selection_stops_at_what_compare_can_show(page, site):
    """Item 9: the project page selects at most 50 runs; a longer link gets a clear page."""
    open_ready(page, site.project)
    page.locator("input.select-all").check()
    expect(page.locator("button.compare-button")).to_have_text("Compare 50 selected")
    expect(page.locator(".selection-limit")).to_be_visible()
    page.locator(".runs-scroll").evaluate("el => { el.scrollTop = el.scrollHeight; }")  # the rows left out, at the end
    unchecked = page.locator("table.runs tbody input.row-check:not(:checked)").first
    expect(unchecked).to_be_disabled()
    response = page.goto(f"{site.base}/ui/compare?ids={','.join(site.ids[:51])}")
    assert response.status == 400
    expect(page.locator(".error-page")).to_contain_text("At most 50 experiments")


def test_filter_sort_selection_and_smoothing_survive_reload_and_back(page, site):
    """Item 10: page state lives in the URL, so reload, Back and a copied link restore it."""
    open_ready(page, site.project)
    page.get_by_placeholder("Filter by name…").fill("name-1")
    page.locator("table.runs thead th[data-key='v:accuracy']").click()
    page.locator("table.runs tbody tr", has_text="name-12").locator("input.row-check").check()
    page.locator("table.runs tbody tr", has_text="name-15").locator("input.row-check").check()
    page.wait_for_function("() => location.search.includes('selected=') && location.search.includes('q=name-1')")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert query["sort"] == ["-v:accuracy"] and query["selected"][0].split(",") == [site.ids[12], site.ids[15]]
    state = lambda: (page.get_by_placeholder("Filter by name…").input_value(),  # noqa: E731
                     page.locator("table.runs tbody td.name-cell").first.text_content(),
                     page.locator("button.compare-button").text_content())
    expected = ("name-1", "a-rather-long-experiment-name-19", "Compare 2 selected")
    assert state() == expected
    page.reload()
    page.wait_for_selector("body[data-complete='1']")
    assert state() == expected
    page.locator("table.runs tbody td.name-cell a").first.click()
    page.wait_for_selector("body[data-ready='1']")
    page.go_back()
    page.wait_for_selector("body[data-complete='1']")
    assert state() == expected
    # A link opened in a fresh page shows the same.
    other = page.context.new_page()
    other.goto(page.url)
    other.wait_for_selector("body[data-complete='1']")
    assert other.get_by_placeholder("Filter by name…").input_value() == "name-1"
    # Smoothing on the compare page is kept as well.
    open_ready(page, f"{site.base}/ui/compare?ids={site.ids[0]},{site.ids[1]}&smoothing=0.7")
    assert page.get_by_label("Smoothing weight").input_value() == "0.7"
    expect(panel(page, "loss").locator(".scatterlayer .trace")).to_have_count(4)  # two runs, raw and smoothed


def test_the_table_downloads_as_csv_and_fetches_only_the_columns_shown(page, site):
    """Item 6: the project table as CSV (shown rows, full values); Speed: ``fields`` narrows what is sent."""
    open_ready(page, f"{site.project}?q=name-0")
    page.wait_for_selector("body[data-complete='1']")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert rows[0][:5] == ["id", "Name", "Status", "Created", "Duration"] and "Values: accuracy" in rows[0]
    assert sorted(r[1] for r in rows[1:]) == [f"a-rather-long-experiment-name-{i:02d}" for i in range(10)]
    accuracy = rows[0].index("Values: accuracy")
    assert {float(r[accuracy]) for r in rows[1:]} == {i / RUNS for i in range(10)}  # full values, not rounded text
    with page.expect_request(lambda r: "/ui/data/projects/" in r.url and "fields=v%3Aaccuracy" in r.url):
        page.goto(f"{site.project}?fields=v:accuracy")
    page.wait_for_selector("body[data-complete='1']")
    labels = page.locator("table.runs thead span.th-label").all_text_contents()
    assert labels == ["Name", "Status", "Created", "Duration", "accuracy"]


def test_keyboard_focus_stays_when_the_table_refreshes(page, site):
    """Item 10: while a run is live the table refreshes every 5 s; focus stays where it was."""
    open_ready(page, site.project)
    check = page.locator("table.runs tbody tr", has_text="live-run").locator("input.row-check")
    check.focus()
    with page.expect_response(lambda r: "/ui/data/projects/" in r.url, timeout=12_000):
        pass
    page.wait_for_timeout(300)
    focused = page.evaluate("() => { const a = document.activeElement; const tr = a.closest('tr'); return [a.className, tr && tr.textContent.includes('live-run')]; }")
    assert focused == ["row-check", True]
    page.keyboard.press("Space")  # still operable from the keyboard
    expect(page.locator("button.compare-button")).to_have_text("Compare 1 selected")


def test_project_cards_line_up(page, site):
    """Item 11: every card of a row of the projects grid has the same top."""
    open_ready(page, f"{site.base}/ui/")
    tops = [card.bounding_box()["y"] for card in page.locator(".project-card").all()]
    assert len(tops) == 4 and max(tops) - min(tops) < 1, tops


def test_evaluation_samples_say_what_is_shown_and_do_not_scroll_inside(page, site):
    """Item 11: "1–15 of 20 rows (120 in all)", and a page of samples is not a scroll box."""
    open_ready(page, site.panels)
    evaluation = panel(page, "evaluation")
    evaluation.locator("input.misclassified-only").check()
    expect(evaluation.locator(".table-status")).to_have_text("1–15 of 20 rows (120 in all)")
    box = evaluation.locator(".samples .table-scroll")
    assert box.evaluate("el => el.scrollHeight <= el.clientHeight + 1")


def test_error_pages(page, site):
    """Item 11: unknown compare ids and unknown addresses get real pages, not JSON or a blank."""
    response = page.goto(f"{site.base}/ui/compare?ids=bogus,other")
    assert response.status == 404
    expect(page.locator(".error-page h1")).to_have_text("Not found")
    expect(page.locator(".error-page")).to_contain_text("None of these experiments exists")
    response = page.goto(f"{site.base}/ui/nope")
    assert response.status == 404 and response.headers["content-type"].startswith("text/html")
    expect(page.locator(".error-page")).to_contain_text("There is no such page.")
    page.locator(".error-page a", has_text="All projects").click()
    page.wait_for_selector("body[data-ready='1']")
    assert page.request.get(f"{site.base}/ui/data/nope").headers["content-type"] == "application/json"


def test_an_image_logged_again_has_a_step_slider_and_the_viewer_pages(page, site):
    """Item 11: an IMAGE logged three times: a slider through the three; the viewer fills the
    screen and steps with previous / next."""
    open_ready(page, site.panels)
    image = panel(page, "prediction")
    expect(image).to_have_attribute("data-images", "3")
    slider = image.locator("input.image-step")
    colour = "img => { const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;" \
             " const g = c.getContext('2d'); g.drawImage(img, 0, 0); return Array.from(g.getImageData(1, 1, 1, 1).data.slice(0, 3)); }"
    thumb = image.locator("img.thumb-image")
    page.wait_for_function("img => img.complete && img.naturalWidth === 16", arg=thumb.element_handle())
    assert thumb.evaluate(colour) == list(COLOURS[2])  # the latest
    slider.fill("0")
    expect(image).to_have_attribute("data-shown", "0")
    page.wait_for_function("img => img.complete && img.src.includes('seq=0')", arg=thumb.element_handle())
    assert thumb.evaluate(colour) == list(COLOURS[0])
    expect(image.locator(".image-step-label")).to_have_text("1 of 3")
    image.locator("button.thumb").click()
    viewer = page.locator("dialog.viewer")
    expect(viewer).to_have_attribute("data-index", "0")
    assert viewer.locator("img").evaluate("i => i.clientWidth") >= 16 * 10
    viewer.get_by_role("button", name="Next ›").click()
    expect(viewer).to_have_attribute("data-index", "1")
    page.keyboard.press("ArrowRight")
    expect(viewer).to_have_attribute("data-index", "2")
    expect(viewer.get_by_role("button", name="Next ›")).to_be_disabled()
    expect(viewer.locator(".viewer-caption")).to_contain_text("3 of 3")


def test_every_panel_renders_without_scrolling(page, site):
    """Item 12: panels below the fold render ahead of the scroll, so a full-page capture is complete."""
    page.goto(site.panels)
    page.wait_for_selector("body[data-ready='1']")
    expect(page.locator("section.panel[data-rendered='1']")).to_have_count(16, timeout=15_000)  # 14 LINE, IMAGE, EVALUATION
    assert page.evaluate("window.scrollY") == 0
    shot = page.screenshot(full_page=True)
    assert len(shot) > 10_000
    assert page.locator("section.panel .placeholder").count() == 0


def test_dark_mode_follows_the_system(browser, site):
    """Dark mode: the page and its charts take the dark colours when the system asks for them."""
    context = browser.new_context(color_scheme="dark", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        open_ready(page, site.panels)
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(15, 17, 21)"
        chart = panel(page, "metric_00")
        font = chart.evaluate("el => el.querySelector('.js-plotly-plot')._fullLayout.font.color")
        assert font == "#c9cfdb"
        text = page.evaluate("getComputedStyle(document.querySelector('h1')).color")
        assert text == "rgb(230, 232, 238)"
    finally:
        context.close()


@pytest.mark.parametrize("which", ["panels", "project"])
def test_every_module_is_preloaded_and_plotly_waits_for_the_first_screen(page, site, which):
    """Speed: a page links its whole module graph as modulepreload (fetched at once, not level by
    level), and the experiment page asks for plotly.js only once its first screen is drawn."""
    page.add_init_script("""new MutationObserver((_, observer) => {
      if (document.body && document.body.dataset.ready) { window.__readyAt = performance.now(); observer.disconnect(); }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-ready"] });""")
    open_ready(page, getattr(site, which))
    preloaded = set(page.evaluate("() => [...document.querySelectorAll('link[rel=modulepreload]')].map(l => l.href)"))
    loaded = set(page.evaluate("() => performance.getEntriesByType('resource').map(r => r.name).filter(u => /\\/js\\/.*\\.js$/.test(u))"))
    assert loaded and loaded <= preloaded  # no module found only when its importer ran
    plotly = "() => performance.getEntriesByType('resource').filter(r => r.name.includes('plotly.min.js')).map(r => r.startTime)"
    if which == "panels":
        page.wait_for_function("() => window.Plotly !== undefined")
        started = page.evaluate(plotly)
        assert started and min(started) >= page.evaluate("() => window.__readyAt")
    else:
        assert page.evaluate(plotly) == []  # the project table draws no chart
