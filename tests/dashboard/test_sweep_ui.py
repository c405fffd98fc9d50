"""Finding the best run in a real browser: the project page's query box (errors inline), column
chooser, constant columns, tags, description and delete; grouping with bands on the compare view;
the sweep views; and the x-axis choice of the charts."""

from __future__ import annotations

import os
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest

from dashhelpers import live_ui, open_ready, panel, release
from trackboard import Client, LogType

expect = pytest.importorskip("playwright.sync_api").expect

T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sweep-ui")
    client = Client(directory=directory)
    project = client.get_or_create_project("sweep", "Two learning rates, two batch sizes, two seeds")
    ids = {}
    # accuracy is driven by lr (0.1 -> ~0.9, 0.01 -> ~0.7), a little by the seed, not by batch.
    for lr in (0.1, 0.01):
        for batch in (32, 64):
            for seed in (0, 1):
                run = project.create_experiment(f"lr{lr}-b{batch}-s{seed}",
                                                parameters={"lr": lr, "batch": batch, "seed": seed, "optimizer": "adam"})
                accuracy = (0.9 if lr == 0.1 else 0.7) + 0.01 * seed
                run.log("accuracy", accuracy, LogType.VALUE)
                run.log("loss", {"steps": [0, 1, 2, 3], "values": [1.0, 0.8 - seed * 0.1, 0.6, 1 - accuracy],
                                 "times": [T0 + 5 * i for i in range(4)], "epochs": [0, 0, 1, 1]}, LogType.LINE)
                if lr == 0.1 and batch == 32:
                    run.add_tags("baseline")
                run.close()
                ids[(lr, batch, seed)] = run.id
    scratch = client.get_or_create_project("scratch")
    doomed = [scratch.create_experiment(f"doomed-{i}").id for i in range(2)]
    kept = scratch.create_experiment("kept").id
    client.flush()
    with live_ui(directory) as base:
        yield SimpleNamespace(base=base, project=f"{base}/ui/projects/{project.id}", scratch=f"{base}/ui/projects/{scratch.id}",
                              ids=ids, doomed=doomed, kept=kept, project_id=project.id)
    release(directory)


def shot(page, name: str) -> None:
    """A screenshot to look at, when TRACKBOARD_SCREENSHOTS names a folder."""
    folder = os.environ.get("TRACKBOARD_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"))


def shown_names(page) -> list[str]:
    return page.locator("table.runs tbody tr[data-id] td.name-cell a").all_inner_texts()


def query_of(page) -> dict:
    return parse_qs(urlparse(page.url).query)


def test_query_box_filters_on_the_server_and_shows_errors_inline(page, site):
    open_ready(page, site.project)
    box = page.locator(".query-input")
    box.fill("params.lr = 0.1 and values.accuracy > 0.905")
    box.press("Enter")
    expect(page.locator("table.runs tbody tr[data-id]")).to_have_count(2)
    assert sorted(shown_names(page)) == ["lr0.1-b32-s1", "lr0.1-b64-s1"]
    assert query_of(page)["filter"] == ["params.lr = 0.1 and values.accuracy > 0.905"]
    # A malformed query: the error under the box, with its position; the last good result stays.
    box.fill("params.lr <")
    box.press("Enter")
    error = page.locator(".query-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("at 11")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(page.locator("table.runs tbody tr[data-id]")).to_have_count(2)
    shot(page, "query-error")
    # The URL restores the query; a tag chip narrows it with `tags contains`.
    open_ready(page, page.url)
    expect(page.locator("table.runs tbody tr[data-id]")).to_have_count(2)
    box.fill("")
    box.press("Enter")
    expect(page.locator("table.runs tbody tr[data-id]")).to_have_count(8)
    page.locator(".tag-chip .tag-name", has_text="baseline").first.click()
    expect(page.locator("table.runs tbody tr[data-id]")).to_have_count(2)
    assert query_of(page)["filter"] == ["tags contains 'baseline'"]


def test_columns_constant_columns_tags_and_description(page, site):
    open_ready(page, site.project)
    head = page.locator("table.runs thead th.sortable")
    expect(head.filter(has_text="optimizer")).to_have_count(1)
    page.locator(".column-chooser summary").click()
    page.locator(".hide-constant").check()
    expect(head.filter(has_text="optimizer")).to_have_count(0)  # every run has adam
    page.locator(".column-chooser label[data-key='p:seed'] input").uncheck()
    expect(head.filter(has_text="seed")).to_have_count(0)
    assert query_of(page)["constant"] == ["hide"] and query_of(page)["hide"] == ["p:seed"]
    open_ready(page, page.url)
    expect(head.filter(has_text="seed")).to_have_count(0)
    expect(head.filter(has_text="lr")).to_have_count(1)
    # Tag two selected runs, then take the tag off one with its chip's x.
    page.locator(f"tr[data-id='{site.ids[(0.01, 64, 0)]}'] input.row-check").check()
    page.locator(f"tr[data-id='{site.ids[(0.01, 64, 1)]}'] input.row-check").check()
    page.locator(".tag-input").fill("slow-lr")
    page.locator(".tag-add").click()
    chips = page.locator(".tag-chip[data-tag='slow-lr']")
    expect(chips).to_have_count(2)
    page.locator(f"tr[data-id='{site.ids[(0.01, 64, 0)]}'] .tag-chip[data-tag='slow-lr'] .tag-remove").click()
    expect(chips).to_have_count(1)
    shot(page, "tags-columns")
    # The description, edited in place and kept by the server.
    page.locator(".edit-description").click()
    page.locator(".description-input").fill("Seeds 0 and 1 of a 2x2 grid")
    page.locator(".save-description").click()
    expect(page.locator(".description-box .description")).to_have_text("Seeds 0 and 1 of a 2x2 grid")
    open_ready(page, site.project)
    expect(page.locator(".description-box .description")).to_have_text("Seeds 0 and 1 of a 2x2 grid")
    expect(page.locator(f"tr[data-id='{site.ids[(0.01, 64, 1)]}'] .tag-chip[data-tag='slow-lr']")).to_have_count(1)


def test_delete_asks_in_the_page_first(page, site):
    open_ready(page, site.scratch)
    for run in site.doomed:
        page.locator(f"tr[data-id='{run}'] input.row-check").check()
    page.locator(".delete-selected").click()
    confirm = page.locator(".confirm-delete")
    expect(confirm).to_contain_text("Delete 2 runs")
    confirm.locator(".confirm-no").click()
    expect(confirm).to_be_hidden()
    expect(page.locator("table.runs tbody tr[data-id]")).to_have_count(3)
    page.locator(".delete-selected").click()
    confirm.locator(".confirm-yes").click()
    expect(page.locator("table.runs tbody tr[data-id]")).to_have_count(1)
    open_ready(page, site.scratch)
    assert shown_names(page) == ["kept"]


def test_group_rows_then_one_band_per_group_on_the_compare_view(page, site):
    open_ready(page, f"{site.project}?group=lr,batch")
    rows = page.locator("table.groups-table tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator(".table-card")).to_be_hidden()
    first = rows.filter(has_text="0.1").filter(has_text="32")
    expect(first.locator(".group-count")).to_have_text("2")
    expect(first).to_contain_text("0.905 ± 0.00707")  # accuracy 0.90 and 0.91
    shot(page, "groups")
    page.locator(".compare-groups").click()
    page.wait_for_selector("body[data-ready='1']")
    chart = panel(page, "loss")
    expect(chart).to_have_attribute("data-groups", "4")
    drawn = chart.evaluate("el => el.querySelector('.js-plotly-plot').data.map(t => ({name: t.name, y: t.y, fill: t.fill || '', shown: t.showlegend !== false}))")
    means = [t for t in drawn if t["shown"]]
    assert len(means) == 4 and len([t for t in drawn if t["fill"] == "tonexty"]) == 4
    group = next(i for i, t in enumerate(drawn) if t["shown"] and t["name"] == "lr=0.1, batch=32")
    lower, upper, mean = drawn[group - 2]["y"], drawn[group - 1]["y"], drawn[group]["y"]
    assert mean[1] == pytest.approx(0.75) and lower[1] == pytest.approx(0.7) and upper[1] == pytest.approx(0.8)  # min-max
    shot(page, "bands")
    page.locator(".band-select").select_option("std")
    chart = panel(page, "loss")
    page.wait_for_function("() => document.querySelector('section.panel[data-log=\"loss\"] .js-plotly-plot')?.data?.length === 12")
    drawn = chart.evaluate("el => el.querySelector('.js-plotly-plot').data.map(t => t.y)")
    assert drawn[group - 1][1] == pytest.approx(0.75 + 0.0707107, abs=1e-6)  # mean + sample std of 0.8 and 0.7
    assert query_of(page)["band"] == ["std"] and query_of(page)["group"] == ["lr,batch"]


def test_sweep_views_one_click_from_the_table(page, site):
    open_ready(page, f"{site.project}?filter=params.batch+%3D+32")
    page.locator(".sweep-parallel").click()
    page.wait_for_selector(".sweep-body[data-rendered='1']")
    assert query_of(page)["filter"] == ["params.batch = 32"]
    dims = page.evaluate("() => document.querySelector('.sweep-body .js-plotly-plot').data[0].dimensions.map(d => [d.label, d.values.length])")
    assert dims == [["lr", 4], ["seed", 4], ["accuracy", 4]]  # the varying parameters, then the metric
    shot(page, "parallel")
    page.locator(".sweep-tab[data-view='scatter']").click()
    page.wait_for_selector(".sweep-body[data-view='scatter'][data-rendered='1']")
    page.locator(".sweep-param").select_option("lr")
    page.wait_for_selector(".sweep-body[data-view='scatter'][data-rendered='1']")
    points = page.evaluate("() => { const t = document.querySelector('.sweep-body .js-plotly-plot').data[0]; return t.x.map((x, i) => [x, t.y[i]]); }")
    assert sorted(points) == [[0.01, 0.7], [0.01, 0.71], [0.1, 0.9], [0.1, 0.91]]
    page.locator(".sweep-logx").click()
    page.wait_for_function("() => document.querySelector('.sweep-body .js-plotly-plot')?.layout?.xaxis?.type === 'log'")
    shot(page, "scatter")
    page.locator(".sweep-tab[data-view='importance']").click()
    page.wait_for_selector(".sweep-body[data-view='importance'][data-rendered='1']")
    rows = page.locator(".importance-table tbody tr")
    expect(rows).to_have_count(2)  # batch is constant under this query
    expect(rows.first).to_have_attribute("data-param", "params.lr")
    correlation = float(rows.first.locator(".correlation").inner_text())
    assert correlation > 0.99
    shot(page, "importance")


def test_x_axis_choice_on_experiment_and_compare_charts(page, site):
    run = site.ids[(0.1, 32, 0)]
    open_ready(page, f"{site.base}/ui/experiments/{run}")
    chart = panel(page, "loss")
    x_of = "el => el.querySelector('.js-plotly-plot').data.filter(t => t.showlegend !== false).map(t => t.x)[0]"
    assert chart.evaluate(x_of) == [0, 1, 2, 3]
    select = page.locator(".x-axis-select")
    for mode, expected in (("epoch", [0, 0, 1, 1]), ("relative", [0, 5, 10, 15]),
                           ("time", [int((T0 + 5 * i) * 1000) for i in range(4)])):
        select.select_option(mode)
        page.wait_for_function(f"() => JSON.stringify(document.querySelector('section.panel[data-log=\"loss\"] .js-plotly-plot').data[0].x) === {str(expected).replace(' ', '')!r}")
        assert query_of(page)["x"] == [mode]
    axis = chart.evaluate("el => el.querySelector('.js-plotly-plot').layout.xaxis.type")
    assert axis == "date"
    other = site.ids[(0.1, 32, 1)]
    open_ready(page, f"{site.base}/ui/compare?ids={run},{other}&x=epoch")
    chart = panel(page, "loss")
    assert chart.evaluate("el => el.querySelector('.js-plotly-plot').data.map(t => t.x)") == [[0, 0, 1, 1], [0, 0, 1, 1]]


def test_a_runs_description_and_tags_are_edited_on_its_page(page, site):
    url = f"{site.base}/ui/experiments/{site.ids[(0.01, 32, 0)]}"
    open_ready(page, url)
    page.locator(".run-tags .tag-input").fill("rerun")
    page.locator(".run-tags .tag-input").press("Enter")
    expect(page.locator(".run-tags .tag-chip[data-tag='rerun']")).to_have_count(1)
    page.locator(".edit-description").click()
    page.locator(".description-input").fill("diverged at step 3")
    page.locator(".save-description").click()
    expect(page.locator(".description-box .description")).to_have_text("diverged at step 3")
    open_ready(page, url)
    expect(page.locator(".description-box .description")).to_have_text("diverged at step 3")
    expect(page.locator(".run-tags .tag-chip[data-tag='rerun']")).to_have_count(1)
    page.locator(".run-tags .tag-chip[data-tag='rerun'] .tag-remove").click()
    expect(page.locator(".run-tags .tag-chip")).to_have_count(0)
