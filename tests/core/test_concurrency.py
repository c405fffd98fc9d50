"""Many threads and several processes logging into one store lose nothing."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from trackboard import Client

N = 10_000


def test_eight_threads_each_with_its_own_log(experiment):
    errors = []

    def work(k):
        try:
            for i in range(N):
                experiment.log(f"thread{k}", float(k * N + i), "line")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    experiment.flush()
    for k in range(8):
        data = experiment.get_log(f"thread{k}").data
        assert data["steps"] == list(range(N))
        assert data["values"] == [float(k * N + i) for i in range(N)]


def test_eight_threads_into_one_log(experiment):
    def work(k):
        for i in range(N):
            experiment.log("shared", float(k * N + i), "line")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    data = experiment.get_log("shared").data
    assert data["steps"] == list(range(8 * N))  # auto steps: one per point, none lost or repeated
    assert sorted(data["values"]) == [float(v) for v in range(8 * N)]
    for k in range(8):  # each thread's points stay in its order
        mine = [v for v in data["values"] if k * N <= v < (k + 1) * N]
        assert mine == sorted(mine)


def test_threads_logging_per_step_dicts_and_explicit_steps(experiment):
    def work(k):
        for i in range(N):
            experiment.log("metrics", {"steps": i, f"m{k}": float(i)}, "line")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    data = experiment.get_log("metrics").data
    assert sorted(data) == sorted(f"m{k}" for k in range(8))
    for k in range(8):
        assert data[f"m{k}"]["steps"] == list(range(N))
        assert data[f"m{k}"]["values"] == [float(i) for i in range(N)]


PROCESS_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    from trackboard import Client
    directory, k, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    open(go + f".ready{k}", "w").close()
    while not os.path.exists(go):
        time.sleep(0.001)
    client = Client(directory=directory)
    project = client.get_or_create_project("shared-project")
    experiment = project.get_or_create_experiment("shared-experiment")
    for i in range(10_000):
        experiment.log(f"proc{k}", float(i), "line")
        experiment.log("all", float(k * 10_000 + i), "line")
        if i % 2500 == 0:
            experiment.flush()
    experiment.log(f"value{k}", k, "value")
    experiment.flush()
    print(json.dumps({"project": project.id, "experiment": experiment.id}))
""")


def test_four_processes_into_one_store(store_dir, tmp_path):
    # Created up front: the get_or_create race has its own test below; this one is about the points.
    Client(directory=store_dir).create_project("shared-project").create_experiment("shared-experiment")
    go = str(tmp_path / "go")
    procs = [
        subprocess.Popen([sys.executable, "-c", PROCESS_SCRIPT, str(store_dir), str(k), go],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k in range(4)
    ]
    deadline = time.monotonic() + 60
    while not all(os.path.exists(f"{go}.ready{k}") for k in range(4)) and time.monotonic() < deadline:
        time.sleep(0.01)
    open(go, "w").close()  # start together
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert len({o["project"] for o in outputs}) == 1, "each process must get the same project"
    assert len({o["experiment"] for o in outputs}) == 1, "each process must get the same experiment"

    client = Client(directory=store_dir)
    experiment = client.get_experiment_by_id(outputs[0]["experiment"])
    for k in range(4):
        data = experiment.get_log(f"proc{k}").data
        assert data["steps"] == list(range(N)) and data["values"] == [float(i) for i in range(N)]
        assert experiment.get_log(f"value{k}").data == k
    shared = experiment.get_log("all").data
    assert shared["steps"] == list(range(4 * N))
    assert sorted(shared["values"]) == [float(v) for v in range(4 * N)]
    assert [p.name for p in client.list_projects()] == ["shared-project"]
    assert [e.name for e in client.get_project("shared-project").list_experiments()] == ["shared-experiment"]


def _forked_child(experiment, k, queue):
    try:
        for i in range(5_000):
            experiment.log(f"child{k}", float(i), "line")
        experiment.log(f"child{k}-done", True, "value")
        experiment.flush(timeout=60)
        queue.put(None)
    except BaseException as error:  # noqa: BLE001 - sent to the parent
        queue.put(repr(error))


@pytest.mark.skipif(sys.platform == "win32", reason="fork only")
def test_forked_children_write_with_the_inherited_experiment(experiment):
    """A forked child (DataLoader workers, DDP fork) gets its own writer; the parent's queue is not replayed."""
    for i in range(1_000):
        experiment.log("parent", float(i), "line")
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_forked_child, args=(experiment, k, queue)) for k in range(2)]
    for child in children:
        child.start()
    for i in range(1_000, 2_000):
        experiment.log("parent", float(i), "line")
    results = [queue.get(timeout=120) for _ in children]
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    assert results == [None, None]
    experiment.flush()
    assert experiment.get_log("parent").data["values"] == [float(i) for i in range(2_000)]
    for k in range(2):
        assert experiment.get_log(f"child{k}").data["values"] == [float(i) for i in range(5_000)]
        assert experiment.get_log(f"child{k}-done").data is True


RACE_SCRIPT = textwrap.dedent("""
    import json, os, sys
    from trackboard import Client
    directory, go, k = sys.argv[1], sys.argv[2], sys.argv[3]
    client = Client(directory=directory)
    project = client.get_or_create_project("race")
    open(go + ".ready" + k, "w").close()
    while not os.path.exists(go):
        pass
    errors, ids = [], {}
    for i in range(200):
        try:
            ids[f"e{i}"] = project.get_or_create_experiment(f"e{i}").id
            client.get_or_create_project(f"p{i}")
        except Exception as error:
            errors.append(repr(error))
    print(json.dumps({"errors": errors[:3], "error_count": len(errors), "ids": ids}))
""")


def test_get_or_create_races_between_processes(store_dir, tmp_path):
    """Processes that get_or_create the same names at the same moment all get the one object."""
    Client(directory=store_dir).get_or_create_project("race")
    go = str(tmp_path / "go")
    procs = [subprocess.Popen([sys.executable, "-c", RACE_SCRIPT, str(store_dir), go, str(k)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(4)]
    deadline = time.monotonic() + 60
    while not all(os.path.exists(f"{go}.ready{k}") for k in range(4)) and time.monotonic() < deadline:
        time.sleep(0.01)
    open(go, "w").close()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    failures = [r["errors"] for r in results if r["error_count"]]
    assert not failures, f"get_or_create raised in a race: {failures}"
    for name in results[0]["ids"]:
        assert len({r["ids"][name] for r in results}) == 1
