"""Faults: the server killed mid-run, down at the start, or stalled; no point is lost or doubled."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
import time
from types import SimpleNamespace

import pytest

from trackboard import LogType
from trackboard.errors import FlushTimeoutError

POINTS = 50_000


def check_exactly_once(experiment, points: int = POINTS) -> None:
    exact = experiment.get_log("exact").data
    assert exact["steps"] == list(range(points)), "a point is missing or doubled"
    assert exact["values"] == [float(i) for i in range(points)]
    auto = experiment.get_log("auto").data  # auto steps: a doubled batch would add points
    assert auto["values"] == [float(i) for i in range(points)] and auto["steps"] == list(range(points))


def test_server_killed_and_restarted_while_logging(make_server, remote_factory):
    server = make_server()
    token = server.create_token()
    server.start()
    try:
        client = remote_factory(server, token)
        experiment = client.get_or_create_project("crash").create_experiment("run")

        def chaos() -> None:
            for _ in range(2):
                time.sleep(0.4)
                server.kill()  # SIGKILL: requests in flight die, committed or not
                time.sleep(0.6)
                server.start()

        thread = threading.Thread(target=chaos)
        thread.start()
        for i in range(POINTS):
            experiment.log("exact", {"steps": [i], "values": [float(i)]}, LogType.LINE)
            experiment.log("auto", float(i), LogType.LINE)
            if i % 1000 == 999:
                time.sleep(0.04)  # spread the run over the restarts
        thread.join()
        experiment.flush(timeout=120)
        check_exactly_once(experiment)
    finally:
        server.stop()


CLIENT_SCRIPT = textwrap.dedent("""
    import sys, time
    from trackboard import Client, LogType
    start = time.monotonic()
    client = Client(sys.argv[1], host=sys.argv[2], directory=sys.argv[3])
    experiment = client.get_or_create_project("down").get_or_create_experiment("run")
    for i in range(int(sys.argv[4])):
        experiment.log("exact", {"steps": [i], "values": [float(i)]}, LogType.LINE)
        experiment.log("auto", float(i), LogType.LINE)
    experiment.log("final", {"accuracy": 0.5}, LogType.TABLE)
    print(f"logged in {time.monotonic() - start:.2f} s", flush=True)
    try:
        experiment.close()
    except Exception as error:  # the server is down: a clear error, the data is spooled
        print(type(error).__name__, error, flush=True)
""")


def test_server_down_when_training_starts_then_sync(tmp_path, make_server, remote_factory):
    server = make_server()  # not started: nothing listens on its port
    token = server.create_token()
    directory = tmp_path / "job"
    started = time.monotonic()
    job = subprocess.run([sys.executable, "-c", CLIENT_SCRIPT, token, server.url, str(directory), str(POINTS)],
                         capture_output=True, text=True, timeout=120)
    assert job.returncode == 0, job.stderr
    assert time.monotonic() - started < 60, "a dead server must not hold the job for long"
    assert "FlushTimeoutError" in job.stdout and "trackboard sync" in job.stdout
    assert list((directory / "spool").rglob("*.json")), "nothing was spooled"

    server.start()
    try:
        result = subprocess.run([sys.executable, "-m", "trackboard.cli", "sync", "--dir", str(directory),
                                 "--host", server.url, "--api-token", token],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert not [path for path in (directory / "spool").rglob("*.json") if path.name != "aliases.json"]
        experiment = remote_factory(server, token).get_project("down").get_experiment("run")
        check_exactly_once(experiment)
        assert experiment.get_log("final").data == {"accuracy": 0.5}
        assert experiment.status == "SUCCESS"
    finally:
        server.stop()


def test_the_next_successful_send_replays_the_spool(make_server, remote_factory):
    server = make_server()
    token = server.create_token()
    client = remote_factory(server, token)  # nothing listens yet
    experiment = client.get_or_create_project("late").create_experiment("run")
    for i in range(POINTS // 2):
        experiment.log("exact", {"steps": [i], "values": [float(i)]}, LogType.LINE)
        experiment.log("auto", float(i), LogType.LINE)
    with pytest.raises(FlushTimeoutError, match="trackboard sync"):
        experiment.flush(timeout=1)
    server.start()
    try:
        for i in range(POINTS // 2, POINTS):
            experiment.log("exact", {"steps": [i], "values": [float(i)]}, LogType.LINE)
            experiment.log("auto", float(i), LogType.LINE)
        experiment.flush(timeout=60)
        check_exactly_once(experiment)
        assert not client._backend.spool.pending()
    finally:
        server.stop()


class StallProxy:
    """A TCP proxy to the server that can stop answering: it accepts, holds the bytes, sends nothing."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.stalled = threading.Event()
        self.closed = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.stalled.is_set() and not self.closed:
                    time.sleep(0.01)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.closed = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone does not)
        except OSError:
            pass
        self.listener.close()


def timed_logs(experiment, name: str, count: int) -> float:
    start = time.perf_counter()
    for i in range(count):
        experiment.log(name, float(i), LogType.LINE)
    return time.perf_counter() - start


def test_a_network_stall_does_not_slow_logging(server, remote_factory):
    proxy = StallProxy(server.port)
    try:
        client = remote_factory(SimpleNamespace(url=f"http://127.0.0.1:{proxy.port}"), server.token)
        experiment = client.get_or_create_project("stall").create_experiment("run")
        baseline = timed_logs(experiment, "before", 20_000)
        experiment.flush(timeout=30)
        proxy.stalled.set()  # from now on the server "never answers"
        time.sleep(0.3)  # the writer is now stuck in a request
        stalled = timed_logs(experiment, "during", 20_000)
        assert stalled < 3 * baseline + 0.5, (baseline, stalled)
        proxy.stalled.clear()
        experiment.flush(timeout=60)
        assert len(experiment.get_log("during").data["values"]) == 20_000
    finally:
        proxy.close()


STALLED_JOB = textwrap.dedent("""
    import sys
    from trackboard import Client, LogType
    client = Client(sys.argv[1], host=sys.argv[2], directory=sys.argv[3])
    experiment = client.get_or_create_project("stalled-exit").create_experiment("run")
    experiment.log("exact", {"steps": [0], "values": [0.0]}, LogType.LINE)
    experiment.flush()
    print("ready", flush=True)
    sys.stdin.readline()  # the test stalls the network now
    for i in range(1, int(sys.argv[4])):
        experiment.log("exact", {"steps": [i], "values": [float(i)]}, LogType.LINE)
        experiment.log("auto", float(i), LogType.LINE)
    # no close(): the exit hook flushes, finds the writer stuck in a request and spools everything
""")


def test_exit_during_a_stall_loses_nothing(server, tmp_path, remote_factory):
    proxy = StallProxy(server.port)
    host = f"http://127.0.0.1:{proxy.port}"
    directory = tmp_path / "job"
    try:
        job = subprocess.Popen([sys.executable, "-c", STALLED_JOB, server.token, host, str(directory), str(POINTS)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert job.stdout.readline().strip() == "ready"
        proxy.stalled.set()
        job.stdin.write("go\n")
        job.stdin.flush()
        started = time.monotonic()
        _, errors = job.communicate(timeout=120)
        assert job.returncode == 0, errors
        assert time.monotonic() - started < 40, "a stalled server must not hold the job for long"
        assert "could not flush at exit" in errors
        assert list((directory / "spool").rglob("0*.json")), "nothing was spooled"
        proxy.stalled.clear()  # what the proxy held reaches the server now: sync then sends duplicates
        result = subprocess.run([sys.executable, "-m", "trackboard.cli", "sync", "--dir", str(directory),
                                 "--host", host, "--api-token", server.token],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    finally:
        proxy.close()
    experiment = remote_factory(server, server.token).get_project("stalled-exit").get_experiment("run")
    assert experiment.get_log("exact").data["steps"] == list(range(POINTS)), "a point is missing or doubled"
    assert experiment.get_log("auto").data["values"] == [float(i) for i in range(1, POINTS)]
