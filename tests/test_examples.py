"""The README's examples, snippets and commands run as printed, on a fresh embedded store.

Where a README command names a machine's paths or public port (``/srv/trackboard``, ``0.0.0.0``,
``8080``), the test runs the same text with a temporary folder, 127.0.0.1 and a free port.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from live_process import free_port, without_trackboard_env
from trackboard import Client

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
README = (ROOT / "README.md").read_text(encoding="utf-8")
RUN_NAME = re.compile(r"[a-z]+-[a-z]+-\d+")


def readme_blocks(language: str, containing: str) -> str:
    """The README's first ``language`` code block that contains ``containing``, as printed."""
    for block in re.findall(rf"```{language}\n(.*?)```", README, re.S):
        if containing in block:
            return block
    raise AssertionError(f"no {language} block with {containing!r} in README.md")


def readme_commands(block: str) -> list[str]:
    """The block's commands: comments dropped, ``\\`` continuations joined."""
    text = re.sub(r"\\\n\s*", " ", block)
    return [re.sub(r"\s+#.*$", "", line).strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def run_example(script: str, store: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRACKBOARD_DIR": str(store), "KERAS_BACKEND": "torch"}
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], env=env, cwd=store.parent,
                          capture_output=True, text=True, timeout=600)


def test_quickstart_logs_every_type(tmp_path):
    result = run_example("quickstart.py", tmp_path / "store")
    assert result.returncode == 0, result.stderr
    experiment = Client(directory=tmp_path / "store").get_project("My awesome Project").list_experiments()[0]
    types = {log.type.value for log in experiment.list_logs()}
    assert types == {"VALUE", "IMAGE", "LINE", "TABLE", "BAR", "HEATMAP", "LABELMAP", "EVALUATION"}
    assert experiment.status == "SUCCESS"
    assert experiment.get_log("TotalLoss").data["steps"] == [0, 1, 2, 3, 4, 5]
    assert [a.name for a in experiment.list_artifacts()] == ["model"]
    assert RUN_NAME.fullmatch(experiment.name), experiment.name


def test_readme_first_snippet_runs_twice_and_starts_two_runs(tmp_path):
    snippet = readme_blocks("python", "client = Client()")
    env = without_trackboard_env()
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
    assert [p.name for p in (tmp_path / ".trackboard").iterdir() if p.name.startswith("trackboard.db")] == ["trackboard.db"]
    runs = Client(directory=tmp_path / ".trackboard").get_project("My awesome Project").list_experiments()
    assert len(runs) == 2 and runs[0].name != runs[1].name
    assert all(RUN_NAME.fullmatch(run.name) for run in runs), [run.name for run in runs]
    assert [run.name.rsplit("-", 1)[1] for run in runs] == ["1", "2"]
    assert [run.status for run in runs] == ["SUCCESS", "SUCCESS"]


def test_get_or_create_experiment_continues_the_named_run(tmp_path):
    """What the README says about which call continues and which starts a new run."""
    project = Client(directory=tmp_path).get_or_create_project("p")
    first = project.get_or_create_experiment("baseline", parameters={"lr": 0.1})
    first.log("loss", [3.0, 2.0], "line")
    first.close()
    again = project.get_or_create_experiment("baseline", parameters={"lr": 0.1})
    again.log("loss", 1.0, "line")
    assert again.id == first.id
    assert again.get_log("loss").data["values"] == [3.0, 2.0, 1.0]
    fresh = project.create_experiment(parameters={"lr": 0.1})
    assert fresh.id != first.id and RUN_NAME.fullmatch(fresh.name)


def start(command: str, cwd: Path) -> subprocess.Popen:
    argv = command.split()
    assert argv[0] == "trackboard"
    return subprocess.Popen([sys.executable, "-m", "trackboard.cli", *argv[1:]], cwd=cwd, env=without_trackboard_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_banner(process: subprocess.Popen, last: str = "Ctrl-C stops it.", timeout: float = 60.0) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"exited {process.wait()}: {lines} {process.stderr.read()[-3000:]}")
        lines.append(line.rstrip("\n"))
        if line.strip() == last:
            return lines
    raise AssertionError(f"no banner within {timeout} s: {lines}")


def test_readme_server_commands_run_as_printed(tmp_path):
    """Token and server commands verbatim (folders created), the banner once serving, a clean Ctrl-C."""
    port = free_port()
    srv = tmp_path / "srv" / "trackboard"
    commands = [c.replace("/srv/trackboard", str(srv)).replace("0.0.0.0", "127.0.0.1").replace("8080", str(port))
                for c in readme_commands(readme_blocks("bash", "trackboard token create alice"))]
    token_command, server_command = commands
    assert not srv.exists()
    created = subprocess.run([sys.executable, "-m", "trackboard.cli", *token_command.split()[1:]], cwd=tmp_path,
                             env=without_trackboard_env(), capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("tb_") and (srv / "db.sqlite").is_file()

    server = start(server_command, tmp_path)
    try:
        banner = read_banner(server)
        assert banner[0] == f"trackboard server on http://127.0.0.1:{port}"
        assert f"  database:   sqlite:///{srv}/db.sqlite" in banner and f"  blob store: {srv}/blobs" in banner
        assert "  workers:    4" in banner and (srv / "blobs").is_dir()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/home/ping", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    assert sorted(p.name for p in srv.iterdir()) == ["blobs", "db.sqlite"]  # no -wal / -shm left


def test_server_access_log_prints_one_line_per_request(tmp_path):
    port = free_port()
    server = start(f"trackboard server --db sqlite:///{tmp_path}/db.sqlite --blobs {tmp_path}/blobs --port {port} "
                   "--access-log", tmp_path)
    try:
        assert "  access log: on" in read_banner(server)
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health?from=test", timeout=10).read()
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert re.search(r'"GET /api/health\?from=test HTTP/1.1" 200', out + err), out + err


def test_ui_on_a_port_in_use_names_a_free_one(tmp_path):
    Client(directory=tmp_path / ".trackboard").get_or_create_project("p")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "trackboard.cli", "ui", "--dir", str(tmp_path), "--port", str(port)],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message and f"port {port} on 127.0.0.1 is already in use" in message, message
    suggested = int(re.search(r"pass --port (\d+)$", message).group(1))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", suggested))  # the port it names is free


def test_main_py_on_a_port_in_use_says_so_before_training(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = run_example("main.py", tmp_path / "store", "--port", str(port))
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr and "pass --port" in result.stderr
    assert "--- quickstart.py" not in result.stdout and not (tmp_path / "store").exists()
    assert time.monotonic() - started < 30


def test_ctrl_c_while_training_exits_cleanly(tmp_path):
    """A real SIGINT to main.py's process group, as a terminal's Ctrl-C sends it, during the Lightning sweep."""
    store = tmp_path / "store"
    env = {**os.environ, "TRACKBOARD_DIR": str(store), "KERAS_BACKEND": "torch"}
    process = subprocess.Popen([sys.executable, str(EXAMPLES / "main.py"), "--no-ui"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for line in process.stdout:
            if line.startswith("--- lightning_example.py"):
                break
        time.sleep(3)  # importing Lightning, or in the first fit
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err[-3000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    assert "keras_example.py" not in out  # it stopped, and did not go on to the next example


@pytest.mark.slow  # trains five tiny models (about 1 min alone, more on a shared machine)
def test_main_job_trains_a_project_per_framework_and_serves_the_dashboard(tmp_path):
    """main.py as the quick start runs it, through to the dashboard, stopped with a real Ctrl-C."""
    store = tmp_path / "store"
    port = free_port()
    env = {**os.environ, "TRACKBOARD_DIR": str(store), "KERAS_BACKEND": "torch"}
    process = subprocess.Popen([sys.executable, str(EXAMPLES / "main.py"), "--port", str(port)], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        banner = read_banner(process, timeout=500)
        assert f"trackboard dashboard on http://127.0.0.1:{port}  (store: {store})" in banner
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ui/data/projects", timeout=10) as response:
            assert response.status == 200
        client = Client(directory=store)
        projects = {p.name: p.list_experiments() for p in client.list_projects()}
        assert set(projects) == {"My awesome Project", "lightning", "keras", "transformers"}
        sweep = projects["lightning"]
        assert sorted(e.get_log("parameters").data["lr"] for e in sweep) == [0.002, 0.02, 0.2]
        accuracies = [e.get_log("validation_accuracy").data for e in sweep]
        assert len(set(accuracies)) > 1  # the star has a run to pick out
        for experiments in projects.values():
            for experiment in experiments:
                assert "parameters" in {log.name for log in experiment.list_logs()}, experiment.name
                assert experiment.status == "SUCCESS"
        client_close(store)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C
        try:
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert sorted(p.name for p in store.iterdir() if p.name.startswith("trackboard.db")) == ["trackboard.db"]


def client_close(store: Path) -> None:
    from trackboard.backend import release

    release(store)  # this test's own connections, so the -wal check sees only the dashboard's


@pytest.mark.parametrize("command", [["ls"], ["export", "anything"], ["ui"]])
def test_read_only_commands_elsewhere_create_nothing(tmp_path, command):
    result = subprocess.run([sys.executable, "-m", "trackboard.cli", *command], cwd=tmp_path,
                            env=without_trackboard_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert f"no trackboard store at {tmp_path.resolve() / '.trackboard'}" in result.stderr and "--dir" in result.stderr
    assert list(tmp_path.iterdir()) == []
