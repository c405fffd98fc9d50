"""Runs that end badly end in a true status: real processes, real signals, a real store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import warnings

import pytest
import requests
from live_process import trackboard_process

import trackboard
from trackboard import Client, TrackingWarning
from trackboard.status import read_status

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

# Logs 50 points, makes them durable, says READY, then does what argv[2] says.
SCRIPT = textwrap.dedent("""
    import signal, sys, time
    from trackboard import Client
    directory, mode = sys.argv[1], sys.argv[2]
    # Ctrl-C as in a terminal: a shell's background job starts with SIGINT ignored, which Python keeps.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if mode == "own-handler":
        def handler(signum, frame):
            print("HANDLED", flush=True)
            sys.exit(3)
        signal.signal(signal.SIGTERM, handler)
    experiment = Client(directory=directory).get_or_create_project("p").create_experiment("e")
    for i in range(50):
        experiment.log("loss", float(i), "line")
    experiment.flush()
    for i in range(50, 60):  # queued, not flushed: must be stored all the same
        experiment.log("loss", float(i), "line")
    print("READY", flush=True)
    if mode == "raise":
        raise RuntimeError("boom")
    if mode == "exit":
        sys.exit(0)
    while True:
        time.sleep(0.05)
""")


def start(store_dir, mode, *prefix):
    return subprocess.Popen([*prefix, sys.executable, "-c", SCRIPT, str(store_dir), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TRACKBOARD_HEARTBEAT_INTERVAL": "0.2"})


def wait_ready(proc):
    line = proc.stdout.readline()
    assert line.strip() == "READY", proc.stderr.read()[-3000:]


def stored_status(store_dir) -> str:
    with sqlite3.connect(store_dir / "trackboard.db") as conn:
        return conn.execute("SELECT status FROM experiments").fetchone()[0]


def read_back(store_dir):
    experiment = Client(directory=store_dir).get_project("p").get_experiment("e")
    return experiment, experiment.get_log("loss").data["values"]


def test_uncaught_exception_ends_failed_with_every_point(store_dir):
    proc = start(store_dir, "raise")
    wait_ready(proc)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "RuntimeError: boom" in err  # the traceback as without trackboard
    experiment, values = read_back(store_dir)
    assert experiment.status == "FAILED"
    assert values == [float(i) for i in range(60)]


def test_sigint_ends_failed(store_dir):
    proc = start(store_dir, "wait")
    wait_ready(proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGINT and "KeyboardInterrupt" in err  # as Python ends on Ctrl-C
    experiment, values = read_back(store_dir)
    assert experiment.status == "FAILED" and len(values) == 60


def test_sigterm_from_timeout_ends_failed_and_still_terminates(store_dir):
    proc = start(store_dir, "wait", "timeout", "-s", "TERM", "4")
    wait_ready(proc)
    proc.communicate(timeout=60)
    assert proc.returncode == 124  # timeout's "the command was killed": SIGTERM was not swallowed
    experiment, values = read_back(store_dir)
    assert experiment.status == "FAILED" and len(values) == 60


def test_sigterm_chains_the_programs_own_handler(store_dir):
    proc = start(store_dir, "own-handler")
    wait_ready(proc)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert "HANDLED" in out and proc.returncode == 3  # the program's handler decided how to end
    assert read_back(store_dir)[0].status == "FAILED"


def test_normal_exit_without_close_ends_success(store_dir):
    proc = start(store_dir, "exit")
    wait_ready(proc)
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    experiment, values = read_back(store_dir)
    assert experiment.status == "SUCCESS" and len(values) == 60


def test_sigkill_reads_crashed_without_changing_the_store_and_reopen_resumes(store_dir):
    proc = start(store_dir, "wait")
    wait_ready(proc)
    assert read_back(store_dir)[0].status == "RUNNING"  # alive and beating
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    experiment, values = read_back(store_dir)
    assert experiment.status == "CRASHED"  # at once: its process is gone from this host
    assert len(values) >= 50
    assert stored_status(store_dir) == "RUNNING"  # reading changed nothing
    projects = Client(directory=store_dir).get_project("p").list_experiments()
    assert [e.status for e in projects] == ["CRASHED"]
    listed = subprocess.run([sys.executable, "-m", "trackboard.cli", "ls", "--dir", str(store_dir), "p"],
                            capture_output=True, text=True, timeout=60)
    assert listed.stdout.splitlines()[1].split()[:2] == ["e", "CRASHED"], listed.stderr  # trackboard ls
    with trackboard_process("ui", "--dir", str(store_dir), ready_path="/") as url:  # the dashboard's data
        rows = requests.get(f"{url}/ui/data/projects/{experiment.project.id}", timeout=10).json()["experiments"]
        page = requests.get(f"{url}/ui/data/experiments/{experiment.id}", timeout=10).json()
    assert [row["status"] for row in rows] == ["CRASHED"] and page["experiment"]["status"] == "CRASHED"
    experiment.reopen()  # this process continues it
    assert experiment.status == "RUNNING"
    experiment.close()
    assert experiment.status == "SUCCESS"


def test_a_stale_heartbeat_reads_crashed_on_any_host(experiment):
    backend = experiment._backend
    # A run on another machine that stopped beating 30 s ago (every 5 s)...
    backend.store.beat([experiment.id], 12345, "some-other-host", 5.0)
    row = backend.store.get_experiment_by_id(experiment.id)
    assert row["status"] == "RUNNING"  # ...beat just now: alive
    assert read_status({**row, "heartbeat_at": time.time() - 30}) == "CRASHED"
    assert read_status({**row, "heartbeat_at": time.time() - 10}) == "RUNNING"  # two beats late is not dead


def test_a_killed_unreaped_process_or_a_reused_pid_reads_crashed_at_once():
    """On this host a fresh heartbeat does not hide a dead process: a zombie (killed, its parent
    not yet waiting) is dead, and so is a pid that a later process took over."""
    from trackboard.status import HOSTNAME

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        row = {"status": "RUNNING", "heartbeat_at": time.time(), "heartbeat_interval": 5.0,
               "pid": child.pid, "hostname": HOSTNAME}
        assert read_status(row) == "RUNNING"
        child.kill()
        deadline = time.monotonic() + 10
        while read_status(row) == "RUNNING" and time.monotonic() < deadline:  # not reaped: a zombie
            time.sleep(0.01)
        assert read_status(row) == "CRASHED"
    finally:
        child.kill()
        child.wait()
    newer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # the same pid number, but a process started after the run's last beat
        assert read_status({**row, "pid": newer.pid, "heartbeat_at": time.time() - 10}) == "CRASHED"
        assert read_status({**row, "pid": newer.pid, "heartbeat_at": time.time()}) == "RUNNING"
    finally:
        newer.kill()
        newer.wait()


def test_heartbeat_keeps_beating(store_dir, monkeypatch):
    monkeypatch.setenv("TRACKBOARD_HEARTBEAT_INTERVAL", "0.05")
    from trackboard.backend import release

    release(store_dir)
    experiment = Client(directory=store_dir).get_or_create_project("p").create_experiment("beats")
    first = experiment._backend.store.get_experiment_by_id(experiment.id)["heartbeat_at"]
    time.sleep(0.3)
    row = experiment._backend.store.get_experiment_by_id(experiment.id)
    assert row["heartbeat_at"] > first and row["pid"] == os.getpid() and row["heartbeat_interval"] == 0.05
    experiment.close()
    closed = experiment._backend.store.get_experiment_by_id(experiment.id)["heartbeat_at"]
    time.sleep(0.2)
    assert experiment._backend.store.get_experiment_by_id(experiment.id)["heartbeat_at"] == closed  # stopped


def test_bad_heartbeat_interval_is_named(store_dir, monkeypatch):
    monkeypatch.setenv("TRACKBOARD_HEARTBEAT_INTERVAL", "often")
    from trackboard.heartbeat import heartbeat_interval

    with pytest.raises(trackboard.TrackboardError, match="TRACKBOARD_HEARTBEAT_INTERVAL"):
        heartbeat_interval()


def test_rewind_drops_points_after_the_step_in_every_line_log(experiment):
    experiment.log("loss", {"steps": [0, 1, 2, 2, 3, 4], "values": [0, 1, 2, 2.5, 3, 4]}, "line")
    experiment.log("m", {"a": {"steps": [1, 5], "values": [1, 5]}, "b": {"steps": [2, 6], "values": [2, 6]}}, "line")
    experiment.log("acc", 0.5, "value")
    experiment.rewind(2)
    assert experiment.get_log("loss").data["steps"] == [0, 1, 2, 2]  # repeated steps within it stay
    assert experiment.get_log("m").data["a"]["steps"] == [1]
    assert experiment.get_log("m").data["b"]["steps"] == [2]
    assert experiment.get_log("acc").data == 0.5
    experiment.log("loss", 7.0, "line")  # auto steps continue from the kept last step
    assert experiment.get_log("loss").data["steps"] == [0, 1, 2, 2, 3]
    with pytest.raises(trackboard.InvalidLogError, match="step"):
        experiment.rewind("two")


def test_rewind_across_many_chunks(experiment):
    experiment.log("loss", {"steps": list(range(25_000)), "values": [float(i) for i in range(25_000)]}, "line")
    experiment.rewind(12_345)
    data = experiment.get_log("loss").data
    assert data["steps"] == list(range(12_346)) and data["values"][-1] == 12_345.0


def test_every_runtime_warning_is_a_tracking_warning(experiment):
    assert issubclass(TrackingWarning, RuntimeWarning) and trackboard.TrackingWarning is TrackingWarning
    from trackboard.callbacks import TrackingWarning as AdapterWarning

    assert AdapterWarning is TrackingWarning
    experiment.log("x", 1, "value")
    stale = Client(directory=experiment.client_settings["directory"]).get_experiment_by_id(experiment.id)
    stale._kinds = {}
    stale.log("x", 1.0, "line")  # refused by the store: the writer warns
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(trackboard.WriteError):
            stale.flush()
    assert caught and all(issubclass(w.category, TrackingWarning) for w in caught)


def test_run_queries_see_crashed_as_every_surface_does(store_dir, monkeypatch):
    """`status = 'CRASHED'` finds a run whose heartbeat went stale (SQL), and the rows say CRASHED."""
    monkeypatch.setenv("TRACKBOARD_HEARTBEAT_INTERVAL", "0")  # this process beats for nobody
    from trackboard.backend import release
    from trackboard.store import schema

    release(store_dir)
    project = Client(directory=store_dir).get_or_create_project("p")
    alive, lost = project.create_experiment("alive"), project.create_experiment("lost")
    store = lost._backend.store
    store.beat([alive.id], 1, "some-other-host", 5.0)
    store.beat([lost.id], 1, "some-other-host", 5.0)
    with store.engine.begin() as conn:  # lost stopped beating a minute ago, on another machine
        conn.execute(schema.experiments.update().where(schema.experiments.c.id == lost.id)
                     .values(heartbeat_at=time.time() - 60))
    assert [e.name for e in project.search_experiments("status = 'CRASHED'")] == ["lost"]
    assert [e.name for e in project.search_experiments("status = 'RUNNING'")] == ["alive"]
    assert {row["name"]: row["status"] for row in store.search_experiments(project.id)} == {
        "alive": "RUNNING", "lost": "CRASHED"}
    from trackboard.server.dashboard.queries import project_summaries

    summary = next(row for row in project_summaries(store.engine) if row["id"] == project.id)
    assert summary["experiments"] == 2 and summary["running"] == 1  # the projects page counts only the live one
