"""The run lifecycle through the tracking server: heartbeat, CRASHED (FAILED for picsellia), rewind."""

from __future__ import annotations

import time


def test_rewind_and_status_through_the_server(remote, api):
    client = remote()
    experiment = client.get_or_create_project("lifecycle").create_experiment("resumed")
    experiment.log("loss", {"steps": [0, 1, 2, 3, 4], "values": [4.0, 3.0, 2.0, 1.0, 0.5]}, "line")
    experiment.rewind(2)
    assert experiment.get_log("loss").data["steps"] == [0, 1, 2]
    row = api.get(f"{api.url}/api/experiment/{experiment.id}").json()
    assert row["status"] == "RUNNING" and row["run_status"] == "RUNNING"  # the client's heartbeat is fresh

    bad = api.post(f"{api.url}/api/trackboard/experiments/{experiment.id}/rewind", json={"step": "x"})
    assert bad.status_code in (400, 422)


def test_a_crashed_run_is_failed_for_picsellia_and_crashed_for_trackboard(remote, api):
    client = remote()
    experiment = client.get_or_create_project("lifecycle").create_experiment("lost-node")
    # A client on another machine that stopped beating long ago.
    answer = api.post(f"{api.url}/api/trackboard/heartbeat",
                      json={"ids": [experiment.id], "pid": 1, "hostname": "lost-node", "interval": 0.01})
    assert answer.status_code == 204
    experiment._backend.heartbeat.discard(experiment.id)  # this process stops beating for it
    time.sleep(0.2)
    row = api.get(f"{api.url}/api/experiment/{experiment.id}").json()
    assert row["status"] == "FAILED" and row["run_status"] == "CRASHED"
    assert experiment.status == "CRASHED"  # trackboard's own client reads run_status
    experiment.reopen()
    assert experiment.status == "RUNNING"
    experiment.close("FAILED")
    assert api.get(f"{api.url}/api/experiment/{experiment.id}").json()["status"] == "FAILED"
