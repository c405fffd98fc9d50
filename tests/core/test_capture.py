"""Context capture (trackboard.capture): environment, requirements, git diff and system metrics.

Real git repositories (``git init``), a real training script in a subprocess, real psutil
counters; the failing monitors fail for real (they watch a process that has exited).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from trackboard import Client, TrackingWarning
from trackboard.capture import Sampler
import trackboard.capture.warn_once as warn_once_module
from trackboard.capture.git import git_state, strip_credentials
from trackboard.capture.monitors import CpuMonitor, MemoryMonitor
from trackboard.capture.monitors.gpu import describe_gpus
from trackboard.capture.requirements import freeze

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def capture_on(monkeypatch):
    """Capture as a user gets it (the shared fixture turns it off), sampling every 0.1 s."""
    monkeypatch.setenv("TRACKBOARD_CAPTURE", "1")
    monkeypatch.setenv("TRACKBOARD_SYSTEM_INTERVAL", "0.1")
    warn_once_module._warned.clear()


@pytest.fixture
def fresh_warnings():
    warn_once_module._warned.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every warning reaches the list: the dedupe is trackboard's
        yield caught


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "user.name", "Test")
    return path


TRAIN = """\
import sys
from trackboard import Client
experiment = Client().get_or_create_project("p").create_experiment("run")
for step in range(5):
    experiment.log("loss", {"steps": [step], "values": [1.0 / (step + 1)]}, "line")
experiment.close()
print(experiment.id)
"""


def capture_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "trackboard-capture"]


def test_a_run_in_a_git_work_tree_records_its_commit_and_its_dirty_diff(tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / "train.py").write_text(TRAIN)
    (repo / "model.py").write_text("LAYERS = 2\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "remote", "add", "origin", "https://someone:ghp_supersecret@example.com/org/repo.git")
    (repo / "model.py").write_text("LAYERS = 3  # uncommitted\n")
    (repo / "untracked.txt").write_text("not part of the code\n")
    store = tmp_path / "store"
    env = {**os.environ, "TRACKBOARD_DIR": str(store), "TRACKBOARD_CAPTURE": "1",
           "TRACKBOARD_SYSTEM_INTERVAL": "0", "MY_SECRET": "hunter2-from-env"}
    done = subprocess.run([sys.executable, "train.py", "--api-token", "hunter2-from-argv", "--lr", "0.1"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    client = Client(directory=store)
    experiment = client.get_experiment_by_id(done.stdout.strip())
    environment = experiment.get_log("environment").data
    assert environment["git"] == {"commit": git(repo, "rev-parse", "HEAD"), "branch": "feature",
                                  "remote": "https://example.com/org/repo.git", "dirty": True}
    assert environment["argv"] == "train.py --api-token '***' --lr 0.1"
    assert environment["cwd"] == str(repo)
    assert environment["pid"] != os.getpid()
    assert environment["python"] == ".".join(map(str, sys.version_info[:3]))
    assert environment["versions"]["numpy"] == np.__version__
    record = json.dumps(environment)
    assert "hunter2" not in record and "ghp_supersecret" not in record
    assert {a.name for a in experiment.list_artifacts()} == {"requirements.txt", "diff.patch"}
    text = client._backend.read_blob(experiment.get_artifact("diff.patch").sha256).decode()
    assert "-LAYERS = 2" in text and "+LAYERS = 3  # uncommitted" in text and "untracked" not in text
    # The patch is what `git apply` takes to rebuild the run's tree from its commit.
    git(repo, "stash", "-q")
    (tmp_path / "run.patch").write_text(text)
    git(repo, "apply", str(tmp_path / "run.patch"))
    assert (repo / "model.py").read_text() == "LAYERS = 3  # uncommitted\n"
    requirements = client._backend.read_blob(experiment.get_artifact("requirements.txt").sha256).decode()
    assert f"numpy=={np.__version__}\n" in requirements
    assert not [log.name for log in experiment.list_logs() if log.name.startswith("system/")]


def test_a_clean_work_tree_is_not_dirty_and_outside_one_there_is_no_git(tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / "a.py").write_text("x = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "c")
    state = git_state(repo)
    assert (state.commit, state.branch, state.dirty, state.remote) == (git(repo, "rev-parse", "HEAD"), "main", False, None)
    assert git_state(tmp_path) is None or Path(git_state(tmp_path).root) != repo
    fresh = make_repo(tmp_path / "fresh")  # no commit yet
    assert git_state(fresh).commit is None


def test_credentials_are_stripped_from_every_kind_of_remote_url():
    assert strip_credentials("https://x-access-token:abc@github.com/o/r") == "https://github.com/o/r"
    assert strip_credentials("https://ghp_token@github.com/o/r.git") == "https://github.com/o/r.git"
    assert strip_credentials("ssh://git:pw@host:2222/o/r.git") == "ssh://host:2222/o/r.git"
    assert strip_credentials("git@github.com:o/r.git") == "git@github.com:o/r.git"


def test_requirements_read_like_pip_freeze():
    lines = [line for line in freeze().splitlines() if line and not line.startswith("#")]
    assert f"numpy=={np.__version__}" in lines
    names = [line.split("==")[0].split(" @ ")[0].lower().replace("_", "-") for line in lines if not line.startswith("-e")]
    assert names == sorted(names) and len(names) == len(set(names))
    assert any(line.startswith(("trackboard==", "-e ")) for line in lines)


def test_the_sampler_logs_system_metrics_at_the_interval_at_the_current_step(client, capture_on):
    experiment = client.get_or_create_project("p").create_experiment("run")
    start = time.time()
    for step in range(0, 100, 10):
        experiment.log("loss", {"steps": [step], "values": [1.0]}, "line")
        time.sleep(0.1)
    experiment.close()
    elapsed = time.time() - start
    names = {log.name for log in experiment.list_logs()}
    expected = {"system/cpu_percent", "system/process_cpu_percent", "system/memory_used_mb",
                "system/memory_percent", "system/process_rss_mb"}
    assert expected <= names
    assert ("system/gpu_utilization_percent" in names) == bool(describe_gpus())
    cpu = experiment.get_log("system/cpu_percent").data
    # One point per 0.1 s once the environment is recorded (and one more at close), never faster.
    # (Loose bounds: on a loaded machine a thread may oversleep, never undersleep.)
    assert 3 <= len(cpu["values"]) <= elapsed / 0.1 + 2
    gaps = np.diff(cpu["times"][:-1])
    # Samples keep to a 0.1 s grid; a point's time is when it was logged (a late one is not
    # followed by a late one), so single gaps jitter and the median holds the interval.
    assert gaps.min() > 0 and 0.09 <= np.median(gaps) <= 0.5
    assert all(0 <= v <= 100 for v in cpu["values"])
    # Each point sits at the experiment's step as stored at sampling time (the writer commits
    # every 0.1 s, later on a loaded machine, so the last steps may still be on their way).
    assert cpu["steps"] == sorted(cpu["steps"]) and set(cpu["steps"]) <= set(range(0, 100, 10))
    assert 50 <= cpu["steps"][-1] <= 90 and len(set(cpu["steps"])) >= 2
    rss = experiment.get_log("system/process_rss_mb").data["values"]
    assert 10 < rss[-1] < 100_000
    assert experiment.get_log("environment").data["pid"] == os.getpid()
    assert "requirements.txt" in {a.name for a in experiment.list_artifacts()}
    assert not capture_threads()  # close() stopped it


def test_named_rates_share_one_panel(client, capture_on):
    experiment = client.get_or_create_project("p").create_experiment("run")
    time.sleep(0.35)
    experiment.close()
    names = {log.name for log in experiment.list_logs()}
    for name, series in (("system/disk_mb_s", {"read", "write"}), ("system/network_mb_s", {"recv", "sent"})):
        if name in names:  # a container may have no disk counters
            data = experiment.get_log(name).data
            assert set(data) == series and all(min(data[s]["values"]) >= 0 for s in series)


def test_capture_off_records_nothing(client, monkeypatch):
    monkeypatch.setenv("TRACKBOARD_SYSTEM_INTERVAL", "0.05")
    project = client.get_or_create_project("p")
    for env, argument in (("0", None), ("1", False), ("off", None)):
        monkeypatch.setenv("TRACKBOARD_CAPTURE", env)
        experiment = project.create_experiment(f"run-{env}-{argument}", capture=argument)
        assert not capture_threads()
        time.sleep(0.15)
        experiment.close()
        assert experiment.list_logs() == [] and experiment.list_artifacts() == []
    # The argument wins over the variable both ways.
    monkeypatch.setenv("TRACKBOARD_CAPTURE", "0")
    experiment = project.create_experiment("forced", capture=True)
    experiment.close()
    assert "environment" in {log.name for log in experiment.list_logs()}


def test_interval_zero_records_the_environment_but_no_system_metrics(client, capture_on, monkeypatch):
    monkeypatch.setenv("TRACKBOARD_SYSTEM_INTERVAL", "0")
    experiment = client.get_or_create_project("p").create_experiment("run")
    experiment.close()
    assert [log.name for log in experiment.list_logs()] == ["environment"]


def test_a_bad_interval_is_one_warning_and_the_default(client, capture_on, monkeypatch, fresh_warnings):
    from trackboard.capture import system_interval

    monkeypatch.setenv("TRACKBOARD_SYSTEM_INTERVAL", "ten")
    assert system_interval() == 10.0 and system_interval() == 10.0
    assert [w.category for w in fresh_warnings] == [TrackingWarning]
    assert "TRACKBOARD_SYSTEM_INTERVAL" in str(fresh_warnings[0].message)


def exited_process() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_failing_monitor_is_one_warning_then_silence(client, fresh_warnings):
    project = client.get_or_create_project("p")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        experiment = project.create_experiment("watching-a-child", capture=False)
        # Watches a process that exits after the first sample: every later psutil call raises.
        sampler = Sampler(experiment, 0.05, [MemoryMonitor(pid=child.pid), CpuMonitor()], record=False).start()
        deadline = time.time() + 10
        while sampler.samples < 1 and time.time() < deadline:
            time.sleep(0.01)
        child.kill()
        child.wait()
        time.sleep(0.4)  # several more intervals
        # A second experiment whose monitor cannot even start (the process is gone): still silent.
        other = project.create_experiment("second", capture=False)
        second = Sampler(other, 0.05, [MemoryMonitor(pid=exited_process())], record=False).start()
        time.sleep(0.2)
        sampler.stop()
        second.stop()
    finally:
        child.kill()
    relevant = [w for w in fresh_warnings if issubclass(w.category, TrackingWarning)]
    assert len(relevant) == 1, [str(w.message) for w in relevant]
    assert "memory monitor" in str(relevant[0].message) and "NoSuchProcess" in str(relevant[0].message)
    # The other monitor went on sampling; the failed one logged only before it failed.
    experiment.flush()
    assert len(experiment.get_log("system/cpu_percent").data["values"]) >= 3
    assert len(experiment.get_log("system/memory_used_mb").data["values"]) <= 2
    other.flush()
    assert other.list_logs() == []


def test_the_sampler_does_not_run_in_a_forked_child(client, capture_on):
    experiment = client.get_or_create_project("p").create_experiment("run")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report whether a capture thread exists here
        os.write(write, str(len(capture_threads())).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 10) == b"0"
    assert experiment._sampler.running  # the parent's goes on
    experiment.close()


def test_the_experiment_step_ignores_the_system_logs(client, capture_on):
    experiment = client.get_or_create_project("p").create_experiment("run", capture=False)
    store = client._backend.store
    assert store.last_step(experiment.id) is None
    experiment.log("system/cpu_percent", {"steps": [500], "values": [1.0]}, "line")
    experiment.log("train/loss", {"a": {"steps": [7], "values": [1.0]}, "b": {"steps": [3], "values": [1.0]}}, "line")
    experiment.flush()
    assert store.last_step(experiment.id, exclude_prefix="system/") == 7
    assert store.last_step(experiment.id) == 500
