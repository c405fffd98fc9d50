"""The spool against a real server: its order survives a clock set back, and a deleted spool is a loss
that flush reports (issue 10, items 8 and 9)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest
from live_process import without_trackboard_env

from trackboard import Client, LogType, TrackingWarning, WriteError

def close_remote(client: Client) -> None:
    from trackboard.remote import release

    release(client._backend, timeout=30)


OFFLINE_RUN = textwrap.dedent("""
    import sys, time
    shift = float(sys.argv[4])
    if shift:  # this run's clock is set back (an NTP correction, a VM restored from a snapshot)
        real, real_ns = time.time, time.time_ns
        time.time = lambda: real() - shift
        time.time_ns = lambda: real_ns() - int(shift * 1e9)
    from trackboard import Client, LogType
    client = Client(sys.argv[1], host=sys.argv[2], directory=sys.argv[3], mode="offline")
    experiment = client.get_or_create_project("clock").get_or_create_experiment("run")
    first = int(sys.argv[5])
    experiment.log("loss", [float(first), float(first + 1), float(first + 2)], LogType.LINE)
    experiment.log("last", first, LogType.VALUE)
    experiment.close()
""")


def offline_run(server, directory, first: int, shift_s: float) -> None:
    subprocess.run([sys.executable, "-c", OFFLINE_RUN, server.token, server.url, str(directory), str(shift_s),
                    str(first)], check=True, env=without_trackboard_env(), timeout=120)


def test_sync_keeps_the_order_of_runs_when_the_clock_was_set_back(server, tmp_path, cli):
    directory = tmp_path / "store"
    offline_run(server, directory, 1, 0)
    offline_run(server, directory, 4, 24 * 3600)  # the second run's clock reads a day earlier
    done = cli("sync", "--dir", str(directory), "--host", server.url, "--api-token", server.token,
               env=without_trackboard_env())
    assert "sent" in done.stderr
    client = Client(server.token, host=server.url, directory=tmp_path / "reader")
    experiment = client.get_project("clock").get_experiment("run")
    assert experiment.get_log("loss").data["values"] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert experiment.get_log("last").data == 4  # the later run's value wins
    close_remote(client)


def test_a_deleted_spool_directory_is_reported_not_flushed_as_success(server, tmp_path):
    client = Client(server.token, host=server.url, directory=tmp_path / "store", mode="offline")
    experiment = client.create_project("deleted-spool").create_experiment("run")
    experiment.log("loss", [float(i) for i in range(3000)], LogType.LINE)
    experiment.flush()  # offline: the 3,000 points are in the spool
    shutil.rmtree(client._backend.spool.directory)
    with pytest.warns(TrackingWarning, match="deleted"), pytest.raises(WriteError, match="deleted.*lost"):
        experiment.flush()
    experiment.log("after", 1.0, LogType.VALUE)
    experiment.flush()  # reported once; what is logged afterwards is spooled as usual
    close_remote(client)


def test_batches_delivered_by_another_process_are_not_a_loss(server, tmp_path, cli):
    directory = tmp_path / "store"
    client = Client(server.token, host=server.url, directory=directory, mode="offline")
    experiment = client.create_project("synced-meanwhile").create_experiment("run")
    experiment.log("loss", [1.0, 2.0], LogType.LINE)
    experiment.flush()
    cli("sync", "--dir", str(directory), "--host", server.url, "--api-token", server.token,
        env=without_trackboard_env())
    experiment.flush()  # the files went to the server, not to the bin: no error
    close_remote(client)


class FaultyProxy:
    """A real HTTP proxy on 127.0.0.1 in front of the real server: ``fault(path, body)`` gives the
    status to answer a request with instead of forwarding it (None: forward it)."""

    def __init__(self, upstream: str, fault) -> None:
        import http.server
        import threading

        import requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = fault(self.path, body)
                if status is not None:
                    answer = b'{"detail": "the proxy answers this itself"}'
                    self.send_response(status)
                else:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                    upstream_answer = requests.request(self.command, upstream + self.path, data=body, headers=headers,
                                                       timeout=30)
                    answer = upstream_answer.content
                    self.send_response(upstream_answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def poison_proxy(upstream: str, marker: bytes) -> FaultyProxy:
    """500 to every batch whose body holds ``marker`` (a server bug set off by one batch)."""
    return FaultyProxy(upstream, lambda path, body: 500 if path.startswith("/api/trackboard/batches") and marker in body
                       else None)


def test_a_spooled_batch_the_server_keeps_failing_on_is_set_aside_not_retried_forever(server, tmp_path):
    proxy = poison_proxy(server.url, b"poison")
    try:
        client = Client(server.token, host=proxy.url, directory=tmp_path / "store", mode="offline")
        experiment = client.create_project("one-bad-batch").create_experiment("run")
        for name in ("before", "poison", "after"):  # one spooled batch each
            experiment.log(name, 1.0, LogType.VALUE)
            experiment.flush()
        sender = client._backend.sender
        sender.offline = False
        for attempt in range(1, 4):
            done = sender.replay(window=0.1)
            assert done == (attempt == 3), attempt  # twice it waits for the server; then it gives up on that batch
        assert not sender.spool.has_pending()
        with pytest.raises(WriteError, match="failed on a spooled batch 3 times.*HTTP 500.*kept in"):
            experiment.flush()
        reader = Client(server.token, host=server.url, directory=tmp_path / "reader")
        stored = reader.get_project("one-bad-batch").get_experiment("run")
        assert [log.name for log in stored.list_logs()] == ["before", "after"]  # the batch after it got through
        close_remote(reader)
        close_remote(client)
    finally:
        proxy.close()


def test_flush_without_a_timeout_waits_for_a_busy_server_and_gives_up_soon_on_one_that_is_away(
        server, tmp_path, monkeypatch):
    """A server answering 503 (busy, or restarting behind its proxy) is slow, not away: ``flush()``
    with no timeout waits for it past GIVE_UP_S (up to FLUSH_TIMEOUT_S). One that refuses
    connections is given up on after about GIVE_UP_S, what was logged kept in the spool."""
    import time

    from trackboard import remote
    from trackboard.errors import FlushTimeoutError

    monkeypatch.setattr(remote, "GIVE_UP_S", 1.0)
    busy_until = [0.0]  # batches are answered 503 until then (set just before the flush)
    proxy = FaultyProxy(server.url, lambda path, body: 503 if path.startswith("/api/trackboard/batches")
                        and time.monotonic() < busy_until[0] else None)
    try:
        client = Client(server.token, host=proxy.url, directory=tmp_path / "busy")
        experiment = client.create_project("busy-server").create_experiment("run")
        client._backend.sender.window = 0.5  # the writer spools soon: flush's own retries are what is tested
        busy_until[0] = time.monotonic() + 6.0
        started = time.monotonic()
        experiment.log("accuracy", 0.5, LogType.VALUE)
        experiment.flush()
        assert time.monotonic() - started > 3.0  # it waited through the 503s, well past GIVE_UP_S
        reader = Client(server.token, host=server.url, directory=tmp_path / "reader")
        assert reader.get_project("busy-server").get_experiment("run").get_log("accuracy").data == 0.5
        close_remote(reader)
        close_remote(client)
    finally:
        proxy.close()

    from live_process import free_port

    away = Client(server.token, host=f"http://127.0.0.1:{free_port()}", directory=tmp_path / "away")
    experiment = away.get_or_create_project("nobody-there").create_experiment("run")  # made offline
    away._backend.sender.window = 0.5
    experiment.log("accuracy", 0.5, LogType.VALUE)
    started = time.monotonic()
    with pytest.raises(FlushTimeoutError, match="trackboard sync"):
        experiment.flush()
    assert time.monotonic() - started < 8.0  # GIVE_UP_S (1 s here) and one more try, not FLUSH_TIMEOUT_S
    assert away._backend.spool.pending()
    close_remote(away)
