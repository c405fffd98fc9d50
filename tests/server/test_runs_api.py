"""Run queries, summaries, tags and notes over HTTP: the REST routes of server/api/runs.py and the
remote client on a real server process give what the embedded store gives."""

from __future__ import annotations

import math

import pytest
from query_cases import ALL, check_all, populate

from trackboard import AlreadyExistsError, QueryError


@pytest.fixture
def remote_project(remote, request):
    client = remote()
    project = client.create_project(f"runs-{request.node.name}"[:100])
    populate(project)
    return project


def test_the_shared_cases_through_the_remote_client(remote_project):
    check_all(remote_project)


def test_rest_search_answers_rows_and_400_with_the_query_error(api, remote_project):
    url = f"{api.url}/api/trackboard/projects/{remote_project.id}/experiments"
    answer = api.get(url, params={"filter": "tags contains 'baseline'", "order_by": ["values.accuracy DESC"]})
    assert answer.status_code == 200
    body = answer.json()
    assert [row["name"] for row in body["items"]] == ["bert-large", "bert-base"] and body["count"] == 2
    assert api.get(url, params={"max_results": 1}).json()["count"] == 1
    bad = api.get(url, params={"filter": "values.accuracy <"})
    assert bad.status_code == 400
    assert bad.json()["message"] == "at 17: expected a value after '<'"
    bad_sort = api.get(url, params={"order_by": "values.accuracy DOWN"})
    assert bad_sort.status_code == 400 and "expected 'asc', 'desc'" in bad_sort.json()["message"]
    assert api.get(url, params={"filter": "name = '\x00'"}).status_code == 400
    missing = api.get(f"{api.url}/api/trackboard/projects/00000000-0000-0000-0000-000000000000/experiments")
    assert missing.status_code == 404


def test_the_remote_client_refuses_bad_queries_before_sending(remote_project):
    with pytest.raises(QueryError, match="at 0: unknown field 'accuracy'"):
        remote_project.search_experiments("accuracy > 1")


def test_frames_through_the_remote_client_hold_the_stored_values(remote_project):
    frame = remote_project.experiments_frame(order_by=["name"])
    assert list(frame["name"]) == sorted(ALL)
    by_name = frame.set_index("name")
    assert by_name.loc["bert-base", "params.opt.name"] == "adam"
    assert by_name.loc["bert-base", "params.amp"] is True or by_name.loc["bert-base", "params.amp"] == True  # noqa: E712
    assert math.isnan(by_name.loc["nan-run", "values.accuracy"])  # NaN stays NaN over the wire
    assert by_name.loc["bert-large", "min.loss"] == 0.2 and by_name.loc["bert-large", "last.loss"] == 0.4
    assert by_name.loc["bert-large", "tags"] == ["baseline", "large"]
    history = remote_project.history_frame("loss", filter="name like 'bert-%'")
    assert sorted(set(history["experiment"])) == ["bert-base", "bert-large"]


def test_tags_notes_and_delete_through_the_remote_client_and_rest(api, remote_project):
    experiment = remote_project.get_experiment("empty")
    experiment.add_tags("remote", "b")
    experiment.remove_tags("b")
    assert experiment.tags == ["remote"]
    answer = api.post(f"{api.url}/api/trackboard/experiments/{experiment.id}/tags", json={"add": ["c"], "remove": ["remote"]})
    assert answer.status_code == 200 and answer.json() == {"tags": ["c"]}
    assert api.post(f"{api.url}/api/trackboard/experiments/{experiment.id}/tags", json={"add": [""]}).status_code == 400
    assert [e.name for e in remote_project.search_experiments("tags contains 'c'")] == ["empty"]
    experiment.update(name="renamed", description="a note")
    assert remote_project.get_experiment("renamed").description == "a note"
    with pytest.raises(AlreadyExistsError):
        experiment.update(name="bert-base")
    experiment.delete()
    assert "renamed" not in [e.name for e in remote_project.search_experiments()]


def test_summaries_route(api, remote_project):
    ids = [e.id for e in remote_project.search_experiments("name = 'bert-base'")]
    answer = api.post(f"{api.url}/api/trackboard/summaries", json={"ids": ids})
    assert answer.status_code == 200
    assert '"accuracy":0.91' in answer.json()["summaries_json"]
    assert api.post(f"{api.url}/api/trackboard/summaries", json={"ids": ["not-an-id"]}).status_code == 422
