"""The sweep-analysis routes the dashboard draws from, over HTTP on a real server: groups with
aggregates, and parameter importance (scikit-learn random forest plus correlation)."""

from __future__ import annotations

import statistics

import pytest

from trackboard import LogType

LRS = (0.1, 0.01, 0.001)
SEEDS = (0, 1, 2)


def accuracy(lr: float, seed: int) -> float:
    return 0.5 + 0.1 * LRS.index(lr) + 0.001 * seed  # driven by lr; the seed barely matters


@pytest.fixture(scope="module")
def sweep(server, tmp_path_factory):
    from trackboard import Client
    from trackboard.remote import release

    client = Client(server.token, host=server.url, directory=tmp_path_factory.mktemp("sweep-client"))
    project = client.create_project("sweep-analysis")
    for lr in LRS:
        for seed in SEEDS:
            run = project.create_experiment(f"lr{lr}-s{seed}", parameters={
                "lr": lr, "seed": seed, "model": "mlp", "optimizer": "adam" if seed % 2 else "sgd"})
            run.log("accuracy", accuracy(lr, seed), LogType.VALUE)
            run.log("loss", [1.0, lr * 10 + seed], LogType.LINE)
            run.close()
    project.create_experiment("no-metric", parameters={"lr": 0.5}).close()
    yield project
    release(client._backend, timeout=30)


def test_groups_by_every_parameter_but_the_seed(api, sweep):
    url = f"{api.url}/api/trackboard/projects/{sweep.id}/groups"
    answer = api.post(url, json={"by": ["params.lr", "params.model"], "metrics": ["values.accuracy", "max.loss"],
                                 "filter": "name != 'no-metric'"})
    assert answer.status_code == 200, answer.text
    groups = {group["key"]["params.lr"]: group for group in answer.json()["groups"]}
    assert sorted(groups) == sorted(LRS)
    for lr in LRS:
        group = groups[lr]
        assert group["count"] == 3 and group["key"]["params.model"] == "mlp" and len(group["ids"]) == 3
        values = [accuracy(lr, seed) for seed in SEEDS]
        stats = group["metrics"]["values.accuracy"]
        assert stats["count"] == 3
        assert stats["mean"] == pytest.approx(statistics.mean(values))
        assert stats["std"] == pytest.approx(statistics.stdev(values))
        assert (stats["min"], stats["max"]) == (pytest.approx(min(values)), pytest.approx(max(values)))
        assert group["metrics"]["max.loss"]["max"] == pytest.approx(lr * 10 + 2)


def test_groups_default_metrics_and_missing_keys(api, sweep):
    answer = api.post(f"{api.url}/api/trackboard/projects/{sweep.id}/groups", json={"by": ["params.seed"]})
    groups = answer.json()["groups"]
    assert [group["count"] for group in groups] == [3, 3, 3, 1]  # largest first; no seed is its own group
    assert groups[-1]["key"] == {"params.seed": None}
    assert {"values.accuracy", "last.loss", "min.loss", "max.loss"} <= set(groups[0]["metrics"])
    assert groups[-1]["metrics"]["values.accuracy"] == {"mean": None, "std": None, "min": None, "max": None, "count": 0}
    bad = api.post(f"{api.url}/api/trackboard/projects/{sweep.id}/groups", json={"by": ["lr"]})
    assert bad.status_code == 400 and bad.json()["message"].startswith("group by 'lr': at 0: unknown field 'lr'")


def test_parameter_importance(api, sweep):
    url = f"{api.url}/api/trackboard/projects/{sweep.id}/importance"
    answer = api.post(url, json={"metric": "values.accuracy"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["runs"] == 9  # the run without the metric is left out
    ranked = [item["name"] for item in body["parameters"]]
    assert ranked[0] == "params.lr" and "params.model" not in ranked  # constant: left out
    by_name = {item["name"]: item for item in body["parameters"]}
    assert by_name["params.lr"]["importance"] > 0.8
    assert by_name["params.lr"]["correlation"] < -0.8  # smaller lr, higher accuracy
    assert by_name["params.optimizer"]["correlation"] is None  # text: importance only
    assert sum(item["importance"] for item in body["parameters"]) == pytest.approx(1.0)
    filtered = api.post(url, json={"metric": "values.accuracy", "filter": "params.lr < 0.05"}).json()
    assert filtered["runs"] == 6
    few = api.post(url, json={"metric": "values.accuracy", "filter": "params.lr = 0.1 and params.seed = 0"})
    assert few.status_code == 400 and "at least 3 runs" in few.json()["message"]
    assert api.post(url, json={"metric": "values.accuracy", "filter": "lr <"}).status_code == 400
