"""The dashboard's JSON endpoints, pages and static files through FastAPI's TestClient: server-side
downsampling keeps first/last/min/max, zoom ranges, NaN/inf as valid JSON, escaping, set-based
project reads, and signing in with an API token on a tracking server."""

from __future__ import annotations

import json
import math
import uuid
from types import SimpleNamespace

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from dashhelpers import png_bytes, release
from trackboard import Client, LogType, Project
from trackboard.backend import LocalBackend
from trackboard.server.app import create_app
from trackboard.server.auth import COOKIE, create_token
from trackboard.server.dashboard.assets import version
from trackboard.server.dashboard.series import smooth
from trackboard.store.sql import Store

N = 10_000
SPIKE_LOW, SPIKE_HIGH = 1_234, 5_678
HOSTILE = "</title><script>alert(1)</script>"


def strict_json(text: str):
    """Parse JSON, refusing the NaN/Infinity tokens that Python writes but JSON does not allow."""
    def refuse(token):
        raise ValueError(f"invalid JSON token {token}")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def data(request, tmp_path_factory):
    """The module's store: the embedded SQLite one, or a team server's PostgreSQL database."""
    directory = tmp_path_factory.mktemp("endpoints")
    if request.param == "sqlite":
        store = Store.at_directory(directory)
    else:
        store = Store(request.getfixturevalue("postgres_cluster").new_database("endpoints"), directory / "blobs")
    backend = LocalBackend(store)
    project = Project(backend, store.create_project("endpoints"))
    run = project.create_experiment("run", parameters={"lr": 0.1, "net": {"depth": 3, "widths": [8, 16]}})
    rng = np.random.default_rng(0)
    values = rng.normal(size=N)
    values[SPIKE_LOW], values[SPIKE_HIGH] = -50.0, 50.0
    run.log("noise", {"steps": np.arange(N), "values": values}, LogType.LINE)
    run.log("nan", [1.0, math.nan, math.inf, -math.inf, 2.0], LogType.LINE)
    run.log("pair", {"a": [1.0, 2.0], "b": [3.0, 4.0]}, LogType.LINE)
    run.log("not_a_number", math.nan, LogType.VALUE)
    run.log("accuracy", 0.5, LogType.VALUE)
    run.log("table_nan", {"x": math.inf}, LogType.TABLE)
    run.log("picture", png_bytes(32, 16), LogType.IMAGE)
    artifact = directory / "page.html"
    artifact.write_text("<script>alert(1)</script>")
    run.store("page", artifact)
    run.close()
    other = project.create_experiment(HOSTILE, parameters={"lr": 0.2})
    other.log("accuracy", 0.75, LogType.VALUE)
    other.log("pair", {"a": [5.0]}, LogType.LINE)
    other.close()
    backend.flush()
    yield SimpleNamespace(directory=directory, store=store, project=project.id, run=run.id, other=other.id,
                          values=values, http=TestClient(create_app(store, require_token=False)))
    backend.close()
    store.close()


def series(data, name: str, **params) -> dict:
    response = data.http.get(f"/ui/data/experiments/{data.run}/series", params={"name": name, **params})
    assert response.status_code == 200, response.text
    return strict_json(response.text)


# -- series -------------------------------------------------------------------------------------


def test_downsampling_keeps_first_last_min_and_max(data):
    answer = series(data, "noise", buckets=100)
    [line] = answer["series"]
    steps, values = line["steps"], line["values"]
    assert line["downsampled"] is True and line["total"] == N and line["in_range"] == N
    assert len(steps) <= 4 * 100
    assert steps[0] == 0 and steps[-1] == N - 1
    assert values[steps.index(SPIKE_LOW)] == -50.0 and values[steps.index(SPIKE_HIGH)] == 50.0
    # Every bucket keeps its own extremes, so the drawn envelope is the true one. Past 64 points
    # per bucket, buckets are runs of a power of two times 64 points (here 128: 79 buckets), read
    # from the chunks' block summaries.
    for start in range(0, N, 128):
        bucket = np.arange(start, min(start + 128, N))
        low = bucket[np.argmin(data.values[bucket])]
        high = bucket[np.argmax(data.values[bucket])]
        assert low in steps and high in steps and bucket[0] in steps and bucket[-1] in steps
    assert steps == sorted(steps)


def test_default_is_about_a_thousand_buckets(data):
    [line] = series(data, "noise")["series"]
    assert 1_000 < len(line["steps"]) <= 4_000


def test_zoom_range_comes_back_at_full_resolution(data):
    answer = series(data, "noise", step_min=2_000, step_max=2_500)
    [line] = answer["series"]
    assert answer["range"] == [2_000, 2_500]
    assert line["steps"] == list(range(2_000, 2_501))
    assert line["values"] == pytest.approx(data.values[2_000:2_501].tolist())
    assert line["downsampled"] is False and line["in_range"] == 501 and line["total"] == N


def test_zoom_range_with_fractional_bounds(data):
    [line] = series(data, "noise", step_min=10.5, step_max=12.5)["series"]
    assert line["steps"] == [11, 12]


def test_several_series_come_back_in_order(data):
    answer = series(data, "pair")
    assert [(s["name"], s["values"]) for s in answer["series"]] == [("a", [1.0, 2.0]), ("b", [3.0, 4.0])]


def test_non_finite_points_are_null_and_counted(data):
    [line] = series(data, "nan")["series"]
    assert line["values"] == [1.0, None, None, None, 2.0]
    assert line["nan"] == 1 and line["inf"] == 2
    assert line["steps"] == [0, 1, 2, 3, 4]


def test_wrong_log_types_and_missing_logs(data):
    run = data.run
    assert data.http.get(f"/ui/data/experiments/{run}/series", params={"name": "accuracy"}).status_code == 400
    assert data.http.get(f"/ui/data/experiments/{run}/log", params={"name": "noise"}).status_code == 400
    assert data.http.get(f"/ui/data/experiments/{run}/log", params={"name": "nope"}).status_code == 404
    missing = data.http.get("/ui/data/experiments/no-such-id")
    assert missing.status_code == 404 and "no experiment" in missing.json()["detail"]


# -- other logs and the experiment overview ---------------------------------------------------


def test_nan_and_inf_are_valid_json_everywhere(data):
    overview = strict_json(data.http.get(f"/ui/data/experiments/{data.run}").text)
    assert overview["values"]["not_a_number"] == "NaN"
    table = strict_json(data.http.get(f"/ui/data/experiments/{data.run}/log", params={"name": "table_nan"}).text)
    assert table["data"] == {"x": "Infinity"}
    project = strict_json(data.http.get(f"/ui/data/projects/{data.project}").text)
    row = next(r for r in project["experiments"] if r["id"] == data.run)
    assert row["values"]["not_a_number"] == "NaN"


def test_experiment_overview_lists_logs_with_versions(data):
    overview = data.http.get(f"/ui/data/experiments/{data.run}").json()
    logs = {log["name"]: log for log in overview["logs"]}
    assert logs["noise"]["type"] == "LINE" and logs["noise"]["points"] == N
    assert logs["parameters"]["type"] == "TABLE"
    assert overview["project"]["name"] == "endpoints"
    assert [a["name"] for a in overview["artifacts"]] == ["page"]


def test_a_line_log_version_moves_when_points_are_appended(tmp_path):
    client = Client(directory=tmp_path)
    run = client.get_or_create_project("p").create_experiment("e")
    run.log("loss", [1.0, 2.0], LogType.LINE)
    run.flush()
    store = Store.at_directory(tmp_path)
    http = TestClient(create_app(store, require_token=False))
    before = {log["name"]: log["version"] for log in http.get(f"/ui/data/experiments/{run.id}").json()["logs"]}
    run.log("loss", [3.0], LogType.LINE)
    run.flush()
    after = {log["name"]: log["version"] for log in http.get(f"/ui/data/experiments/{run.id}").json()["logs"]}
    assert before["loss"] != after["loss"]
    store.close()
    release(tmp_path)


def test_image_is_served_with_its_checked_content_type(data):
    response = data.http.get(f"/ui/data/experiments/{data.run}/image", params={"name": "picture"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == png_bytes(32, 16)


def test_an_image_logged_again_keeps_its_history(tmp_path):
    """IMAGE logged again under one name: every image is kept, in order; replace=True starts over (issue 17, 11)."""
    client = Client(directory=tmp_path)
    run = client.get_or_create_project("p").create_experiment("e")
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    for colour in colours:
        run.log("sample", png_bytes(8, 8, colour), LogType.IMAGE)
    run.flush()
    store = Store.at_directory(tmp_path)
    http = TestClient(create_app(store, require_token=False))
    history = http.get(f"/ui/data/experiments/{run.id}/images", params={"name": "sample"}).json()["images"]
    assert [image["seq"] for image in history] == [0, 1, 2]
    assert history[-1]["sha256"] == run.get_log("sample").data["sha256"]
    for image, colour in zip(history, colours):
        assert http.get(f"/ui/data/experiments/{run.id}/image", params={"name": "sample", "seq": image["seq"]}).content == png_bytes(8, 8, colour)
    assert http.get(f"/ui/data/experiments/{run.id}/image", params={"name": "sample", "seq": 7}).status_code == 404
    run.log("sample", png_bytes(8, 8), LogType.IMAGE, replace=True)
    run.flush()
    assert [i["seq"] for i in http.get(f"/ui/data/experiments/{run.id}/images", params={"name": "sample"}).json()["images"]] == [0]
    run.log("sample", [1.0], LogType.LINE, replace=True)  # another type: the history goes with the image log
    run.close()
    assert store.engine.connect().execute(sa.text("select count(*) from image_history")).scalar() == 0
    store.close()
    release(tmp_path)


def test_artifacts_download_and_never_render(data):
    response = data.http.get(f"/ui/data/experiments/{data.run}/artifact", params={"name": "page"})
    assert response.status_code == 200
    assert response.content == b"<script>alert(1)</script>"
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_smoothing_is_computed_on_the_full_series_before_downsampling(data):
    """The smoothed value at the spike is the same in the full view and zoomed in (issue 17, 3)."""
    full = series(data, "noise", smoothing=0.9)["series"][0]
    zoomed = series(data, "noise", smoothing=0.9, step_min=SPIKE_HIGH - 20, step_max=SPIKE_HIGH + 20)["series"][0]
    expected = smooth(data.values, 0.9)
    at_spike = full["steps"].index(SPIKE_HIGH)
    assert full["smoothed"][at_spike] == pytest.approx(expected[SPIKE_HIGH])
    assert zoomed["smoothed"][zoomed["steps"].index(SPIKE_HIGH)] == pytest.approx(expected[SPIKE_HIGH])
    assert full["values"][at_spike] == 50.0  # the raw points still come back
    assert len(full["smoothed"]) == len(full["values"]) < N
    # TensorBoard's debiasing: the first smoothed point is the first value, not pulled towards 0.
    assert full["smoothed"][0] == pytest.approx(data.values[0])
    assert "smoothed" not in series(data, "noise")["series"][0]
    nan = series(data, "nan", smoothing=0.5)["series"][0]
    assert nan["smoothed"] == [1.0, None, None, None, pytest.approx(5 / 3)]
    assert data.http.get(f"/ui/data/experiments/{data.run}/series", params={"name": "noise", "smoothing": 2}).status_code == 422


def test_series_csv_is_full_resolution(data):
    response = data.http.get(f"/ui/data/experiments/{data.run}/series.csv", params={"name": "noise"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="noise.csv"' in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert lines[0] == "experiment,series,step,value,time,epoch"
    assert len(lines) == N + 1
    first = lines[1].split(",")
    assert first[:3] == ["run", "", "0"] and float(first[3]) == data.values[0]
    nan = data.http.get(f"/ui/data/experiments/{data.run}/series.csv", params={"name": "nan"}).text.splitlines()
    assert [line.split(",")[3] for line in nan[1:]] == ["1.0", "nan", "inf", "-inf", "2.0"]
    both = data.http.get("/ui/data/compare/series.csv", params={"ids": f"{data.run},{data.other}", "name": "pair"}).text.splitlines()
    assert [line.split(",")[:4] for line in both[1:]] == [
        ["run", "a", "0", "1.0"], ["run", "a", "1", "2.0"], ["run", "b", "0", "3.0"], ["run", "b", "1", "4.0"], [HOSTILE, "a", "0", "5.0"]]


# -- projects and compare --------------------------------------------------------------------


def test_project_rows(data):
    answer = data.http.get(f"/ui/data/projects/{data.project}").json()
    rows = {row["name"]: row for row in answer["experiments"]}
    run = rows["run"]
    assert run["status"] == "SUCCESS" and run["finished_at"] >= run["created_at"]
    assert run["values"] == {"not_a_number": "NaN", "accuracy": 0.5}
    assert run["lines"]["noise"] == [N - 1, pytest.approx(data.values[-1])]
    assert run["lines"]["pair · a"] == [1, 2.0] and run["lines"]["pair · b"] == [1, 4.0]
    assert run["params"] == {"lr": 0.1, "net.depth": 3, "net.widths": "[8,16]"}
    assert rows[HOSTILE]["params"] == {"lr": 0.2}


def test_project_rows_in_pages_with_only_the_chosen_columns(data):
    first = data.http.get(f"/ui/data/projects/{data.project}", params={"limit": 1}).json()
    assert first["total"] == 2 and [row["name"] for row in first["experiments"]] == [HOSTILE]  # newest first
    rest = data.http.get(f"/ui/data/projects/{data.project}", params={"offset": 1}).json()
    assert [row["name"] for row in rest["experiments"]] == ["run"]
    only = data.http.get(f"/ui/data/projects/{data.project}", params={"fields": "v:accuracy,l:pair · a,p:net.depth"}).json()
    run = {row["name"]: row for row in only["experiments"]}["run"]
    assert run["values"] == {"accuracy": 0.5} and run["lines"] == {"pair · a": [1, 2.0]} and run["params"] == {"net.depth": 3}


def test_a_nan_last_value_reads_as_nan(tmp_path):
    """SQLite keeps a NaN float as NULL: the last value of a series ending in NaN is still NaN (issue 17, 5)."""
    client = Client(directory=tmp_path)
    project = client.get_or_create_project("p")
    run = project.create_experiment("e")
    run.log("loss", [1.0, math.nan], LogType.LINE)
    run.close()
    store = Store.at_directory(tmp_path)
    [row] = TestClient(create_app(store, require_token=False)).get(f"/ui/data/projects/{project.id}").json()["experiments"]
    assert row["lines"]["loss"] == [1, "NaN"]
    store.close()
    release(tmp_path)


def test_projects_list_counts(data):
    [project] = data.http.get("/ui/data/projects").json()["projects"]
    assert project["name"] == "endpoints" and project["experiments"] == 2 and project["running"] == 0


def test_project_page_reads_are_set_based(tmp_path):
    """The number of SQL statements does not grow with the number of experiments."""
    client = Client(directory=tmp_path)
    statements = {}
    for size in (3, 30):
        project = client.get_or_create_project(f"p{size}")
        for i in range(size):
            run = project.create_experiment(f"e{i}", parameters={"i": i})
            run.log("acc", i / size, LogType.VALUE)
            run.log("loss", {"a": [1.0, 0.5], "b": [2.0]}, LogType.LINE)
        client.flush()
        store = Store.at_directory(tmp_path)
        http = TestClient(create_app(store, require_token=False))
        executed = []
        sa.event.listen(store.engine, "before_cursor_execute", lambda *args: executed.append(args[2]))
        rows = http.get(f"/ui/data/projects/{project.id}").json()["experiments"]
        assert len(rows) == size and all(row["lines"]["loss · b"] == [0, 2.0] for row in rows)
        statements[size] = len([s for s in executed if s.lstrip().upper().startswith("SELECT")])
        store.close()
    assert statements[3] == statements[30] <= 6
    release(tmp_path)


def test_compare_keeps_the_requested_order_and_skips_unknown_ids(data):
    answer = data.http.get("/ui/data/compare", params={"ids": f"{data.other},unknown,{data.run}"}).json()
    assert [row["name"] for row in answer["experiments"]] == [HOSTILE, "run"]
    assert answer["experiments"][1]["line_logs"] == ["noise", "nan", "pair"]
    assert answer["experiments"][0]["project_name"] == "endpoints"
    too_many = ",".join(f"id{i}" for i in range(51))
    assert data.http.get("/ui/data/compare", params={"ids": too_many}).status_code == 400


def test_compare_series_per_experiment(data):
    answer = strict_json(data.http.get("/ui/data/compare/series", params={"ids": f"{data.run},{data.other}", "name": "pair"}).text)
    assert [s["name"] for s in answer["experiments"][data.run]] == ["a", "b"]
    assert answer["experiments"][data.other][0]["values"] == [5.0]
    answer = data.http.get("/ui/data/compare/series", params={"ids": f"{data.run},{data.other}", "name": "noise", "step_max": 9}).json()
    assert list(answer["experiments"]) == [data.run]
    assert answer["experiments"][data.run][0]["steps"] == list(range(10))


# -- pages and static files --------------------------------------------------------------------


def test_page_shells_escape_names(data):
    response = data.http.get(f"/ui/experiments/{data.other}")
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text
    assert "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; · trackboard" in response.text
    assert data.http.get("/ui/experiments/unknown").status_code == 404
    assert data.http.get("/ui/projects/unknown").status_code == 404
    assert data.http.get("/", follow_redirects=False).headers["location"] == "/ui/"


def test_every_page_loads_its_module(data):
    for path, module in (("/ui/", "projects"), (f"/ui/projects/{data.project}", "project"),
                         (f"/ui/experiments/{data.run}", "experiment"), (f"/ui/compare?ids={data.run}", "compare")):
        response = data.http.get(path)
        assert response.status_code == 200
        script = f"/ui/static/{version()}/js/pages/{module}.js"
        assert script in response.text
        assert data.http.get(script).status_code == 200


def test_static_files_are_fingerprinted_and_cached_immutably(data):
    page = data.http.get(f"/ui/experiments/{data.run}").text
    v = version()
    for url in (f"/ui/static/{v}/css/dashboard.css", f"/ui/static/{v}/vendor/plotly.min.js", f"/ui/static/{v}/js/lib/api.js"):
        assert url in page or url.endswith("api.js")
        response = data.http.get(url)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    # Another fingerprint (a page from before an upgrade) gets today's file, not claimed immutable.
    old = data.http.get("/ui/static/0123456789ab/css/dashboard.css")
    assert old.status_code == 200 and old.headers["cache-control"] == "no-cache"
    assert data.http.get("/ui/static/0123456789ab/../../data.py").status_code == 404
    assert data.http.get("/ui/static/css/dashboard.css").headers["cache-control"] == "no-cache"
    # The page itself is never cached, so it always names the current fingerprint.
    assert data.http.get("/ui/").headers["cache-control"] == "no-store"


def test_json_answers_are_compressed(data):
    response = data.http.get(f"/ui/data/experiments/{data.run}/series", params={"name": "noise"}, headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < len(response.content) * 0.6  # random floats: compress least
    assert strict_json(response.text)["series"][0]["total"] == N


def test_plotly_is_served_from_the_python_package(data):
    response = data.http.get("/ui/static/vendor/plotly.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert b"plotly.js" in response.content[:200]
    assert response.headers.get("content-encoding") == "gzip"  # httpx sent Accept-Encoding: gzip
    again = data.http.get("/ui/static/vendor/plotly.min.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_static_files_stay_inside_the_static_directory(data):
    assert data.http.get("/ui/static/css/dashboard.css").status_code == 200
    for path in ("/ui/static/%2e%2e/data.py", "/ui/static/..%2fdata.py", "/ui/static/js/../../pages.py", "/ui/static/nope.js"):
        assert data.http.get(path).status_code == 404, path


# -- signing in on a tracking server -----------------------------------------------------------


@pytest.fixture
def server(data):
    token = create_token(data.store, f"dashboard-test-{uuid.uuid4().hex}")  # the store is shared by the module
    return SimpleNamespace(http=TestClient(create_app(data.store, require_token=True)), token=token)


def test_a_server_needs_a_token(data, server):
    assert server.http.get("/ui/data/projects").status_code == 401
    page = server.http.get(f"/ui/experiments/{data.run}", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == f"/ui/signin?next=%2Fui%2Fexperiments%2F{data.run}"
    assert server.http.get("/ui/static/css/dashboard.css").status_code == 200  # no data in static files
    assert server.http.get("/ui/data/projects", headers={"Authorization": f"Bearer {server.token}"}).status_code == 200


def test_signing_in_sets_the_cookie_that_require_token_accepts(data, server):
    form = server.http.get("/ui/signin", params={"next": f"/ui/experiments/{data.run}"})
    assert form.status_code == 200 and 'name="token"' in form.text
    wrong = server.http.post("/ui/signin", data={"token": "tb_wrong", "next": "/ui/"}, follow_redirects=False)
    assert wrong.status_code == 401 and "not valid" in wrong.text
    assert COOKIE not in server.http.cookies
    right = server.http.post("/ui/signin", data={"token": server.token, "next": f"/ui/experiments/{data.run}"}, follow_redirects=False)
    assert right.status_code == 303 and right.headers["location"] == f"/ui/experiments/{data.run}"
    cookie = right.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert server.http.get(f"/ui/experiments/{data.run}").status_code == 200
    assert server.http.get("/ui/data/projects").status_code == 200
    out = server.http.post("/ui/signout", follow_redirects=False)
    assert out.status_code == 303
    server.http.cookies.clear()
    assert server.http.get("/ui/data/projects").status_code == 401


def test_sign_in_never_redirects_off_the_dashboard(server):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/api/v1/projects"):
        response = server.http.post("/ui/signin", data={"token": server.token, "next": target}, follow_redirects=False)
        assert response.headers["location"] == "/ui/", target


def test_the_local_ui_needs_no_sign_in(data):
    assert data.http.get("/ui/signin", follow_redirects=False).status_code == 303
    page = data.http.get("/ui/")
    assert 'data-auth="open"' in page.text and "Sign out" not in page.text
