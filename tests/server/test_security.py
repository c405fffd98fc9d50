"""Attacks on a real ``trackboard server`` / ``trackboard ui`` process on 127.0.0.1 (issue 10).

Each test is one finding of the security review, tried the way an attacker on the network would:
raw sockets for bodies that are never meant to be read, forged Host and Origin headers, poisoned
strings, and tokens of every role.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid

import psutil
import pytest
import requests
from live_process import trackboard_process, without_trackboard_env

from trackboard import Client, InvalidLogError, LogType

MiB = 1024 * 1024


def org(url: str, headers: dict) -> str:
    return requests.get(f"{url}/api/home/ping", headers=headers).json()["default_organization"]


def rss(process) -> int:
    return psutil.Process(process.pid).memory_info().rss


def send_unread_body(port: int, head: str, size: int, answers: list, chunk: int = MiB) -> None:
    """Send ``head`` and then ``size`` bytes of body; record the status line the server answers.

    The server may answer and close long before the body is sent: sending then fails, as it should.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        received = bytearray()

        def read() -> None:
            try:
                while not received.endswith(b"\r\n\r\n") and b"\r\n\r\n" not in received:
                    data = sock.recv(65536)
                    if not data:
                        break
                    received.extend(data)
            except OSError:
                pass

        reader = threading.Thread(target=read)
        reader.start()
        block = b"{" * chunk
        try:
            sock.sendall(head.encode())
            sent = 0
            while sent < size:
                sock.sendall(block[: min(chunk, size - sent)])
                sent += chunk
        except OSError:
            pass  # the server answered and closed without reading the rest
        reader.join(60)
        answers.append(bytes(received).split(b"\r\n", 1)[0].decode(errors="replace"))


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    """A server of this module's own (its memory is measured), with an admin token."""
    from conftest import ServerProcess

    process = ServerProcess(tmp_path_factory.mktemp("security"), TRACKBOARD_MAX_BATCH_BYTES=str(100 * MiB))
    process.token = process.create_token("admin", "--role", "admin")
    process.start()
    yield process
    process.stop()


# -- High 1, 2: nothing is read before the token (or signature) is checked -----------------------------


@pytest.mark.parametrize("path, size_mib, expected", [
    ("/api/trackboard/batches", 95, "401"),           # under the 100 MiB cap, no token: 401 before the body
    ("/api/object-storage/objects?object_name=x&expires=9999999999&max_bytes=999999999&signature=bad", 25, "403"),
    ("/ui/signin", 95, "413"),                        # the sign-in form is capped at a few KiB
])
def test_unauthenticated_large_bodies_never_reach_memory(target, path, size_mib, expected):
    method = "PUT" if "object-storage" in path else "POST"
    before = rss(target.process)
    answers: list[str] = []
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size_mib * MiB}\r\n\r\n")
    senders = [threading.Thread(target=send_unread_body, args=(target.port, head, size_mib * MiB, answers))
               for _ in range(3)]
    for sender in senders:
        sender.start()
    time.sleep(0.2)
    started = time.monotonic()
    assert requests.get(f"{target.url}/api/health", timeout=10).status_code == 200
    health_s = time.monotonic() - started
    for sender in senders:
        sender.join(120)
    grown = rss(target.process) - before
    assert all(expected in answer for answer in answers), answers
    assert grown < 40 * MiB, f"server memory grew by {grown / MiB:.0f} MiB"
    assert health_s < 2.0


def test_a_body_without_length_is_stopped_at_the_cap_while_it_streams(make_server):
    server = make_server(TRACKBOARD_MAX_BATCH_BYTES=str(MiB))
    token = server.create_token("w")
    server.start()

    def chunks():
        yield b'{"key": "' + b"k" * 16 + b'", "logs": ['
        for _ in range(64):
            yield b" " * (64 * 1024)
        yield b"]}"

    answer = requests.post(f"{server.url}/api/trackboard/batches", data=chunks(),
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert answer.status_code == 413
    assert "1048576" in answer.json()["message"]


# -- High 3: `trackboard ui` answers only its own loopback origin -------------------------------------


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ui-store")
    client = Client(directory=directory)
    client.create_project("kept").create_experiment("run").close()
    from trackboard.remote import release  # noqa: F401  (embedded client: nothing to release)

    with trackboard_process("ui", "--dir", str(directory), ready_path="/api/health",
                            env=without_trackboard_env()) as base:
        yield base


def test_ui_refuses_a_rebinding_host(ui):
    port = ui.rsplit(":", 1)[1]
    own = {"Host": f"127.0.0.1:{port}"}
    organization = requests.get(f"{ui}/api/home/ping", headers=own).json()["default_organization"]
    projects = f"{ui}/api/organization/{organization}/projects"
    project_id = requests.get(projects, headers=own).json()["items"][0]["id"]
    attacker = {"Host": f"attacker.example:{port}"}
    assert requests.get(projects, headers=attacker).status_code == 403
    assert requests.delete(f"{ui}/api/project/{project_id}", headers=attacker).status_code == 403
    assert requests.get(f"{ui}/ui/", headers=attacker).status_code == 403
    # A page of another origin cannot change anything, even with the right Host.
    cross = {**own, "Origin": "http://attacker.example:8080"}
    assert requests.delete(f"{ui}/api/project/{project_id}", headers=cross).status_code == 403
    assert requests.get(projects, headers=own).json()["count"] == 1
    # The person who opens the printed URL (or localhost) gets the dashboard and the API.
    assert requests.get(f"{ui}/ui/").status_code == 200
    assert requests.get(f"http://localhost:{port}/ui/").status_code == 200
    created = requests.post(projects, json={"name": "from-the-page"},
                            headers={**own, "Origin": f"http://127.0.0.1:{port}"})
    assert created.status_code == 201


# -- High 4: one bad string never blocks a client -------------------------------------------------------


BAD = "bad\ud800"


def test_log_refuses_a_lone_surrogate_at_the_call_site(tmp_path):
    experiment = Client(directory=tmp_path).create_project("p").create_experiment("e")
    for name, data, kind in [(BAD, 1.0, LogType.VALUE), ("t", {BAD: 1}, LogType.TABLE),
                             ("l", {BAD: [1.0]}, LogType.LINE), ("v", BAD, LogType.VALUE),
                             ("n\x00ul", 1.0, LogType.VALUE)]:
        with pytest.raises(InvalidLogError, match="surrogate|NUL"):
            experiment.log(name, data, kind)
    with pytest.raises(InvalidLogError, match="surrogate"):
        Client(directory=tmp_path).create_project(BAD)
    experiment.close()


def _raw_json(value) -> bytes:
    return json.dumps(value).encode()  # ensure_ascii: a lone surrogate travels as its \\ud800 escape


def test_the_server_answers_400_for_unstorable_strings_on_every_route(target):
    headers = {"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"}
    base = target.url
    organization = org(base, headers)
    project = requests.post(f"{base}/api/organization/{organization}/projects",
                            data=_raw_json({"name": f"p-{uuid.uuid4().hex[:6]}"}), headers=headers).json()
    experiment = requests.post(f"{base}/api/project/{project['id']}/experiments",
                               data=_raw_json({"name": "e"}), headers=headers).json()
    logs = f"{base}/api/experiment/{experiment['id']}/logs"
    attempts = {
        "project name": (f"{base}/api/organization/{organization}/projects", {"name": BAD}),
        "experiment name": (f"{base}/api/project/{project['id']}/experiments", {"name": BAD}),
        "description": (f"{base}/api/project/{project['id']}/experiments", {"name": "ok", "description": BAD}),
        "log name": (logs, {"name": BAD, "type": "VALUE", "data": 1}),
        "TABLE key": (logs, {"name": "t", "type": "TABLE", "data": {BAD: 1}}),
        "series name": (logs, {"name": "l", "type": "LINE", "data": {BAD: [1.0]}}),
        "string value": (logs, {"name": "v", "type": "VALUE", "data": BAD}),
        "parameters": (f"{base}/api/project/{project['id']}/experiments", {"name": "p", "parameters": {BAD: 1}}),
    }
    for what, (url, body) in attempts.items():
        answer = requests.post(url, data=_raw_json(body), headers=headers)
        assert answer.status_code == 400, (what, answer.status_code, answer.text)
        assert "surrogate" in answer.json()["message"], what
    patch = requests.patch(f"{base}/api/project/{project['id']}", data=_raw_json({"name": BAD}), headers=headers)
    assert patch.status_code == 400


def test_a_batch_with_one_bad_record_stores_the_others(target):
    headers = {"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"}
    client = Client(target.token, host=target.url, directory=target.root / "client-a")
    experiment = client.create_project(f"batch-{uuid.uuid4().hex[:6]}").create_experiment("e")
    entry = {"experiment_id": experiment.id, "type": "VALUE", "time": time.time()}
    body = {"key": uuid.uuid4().hex, "logs": [{**entry, "name": BAD, "data_json": "1"},
                                              {**entry, "name": "good", "data_json": "2"},
                                              {**entry, "name": "t", "type": "TABLE", "data_json": _raw_json({BAD: 1}).decode()}]}
    answer = requests.post(f"{target.url}/api/trackboard/batches", data=_raw_json(body), headers=headers)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["applied"] == 1
    assert [item["index"] for item in result["refused"]] == [0, 2]
    assert all(item["status"] == 400 for item in result["refused"])
    assert experiment.get_log("good").data == 2
    from conftest import close_remote

    close_remote(client)


def test_a_poisoned_spooled_batch_is_dropped_and_sync_goes_on(target, tmp_path, cli):
    """A spool written by an older client holds a record the server refuses: sync reports it,
    stores everything else, and the spool is empty afterwards (nothing waits behind it forever)."""
    from conftest import close_remote

    directory = tmp_path / "offline"
    client = Client(target.token, host=target.url, directory=directory, mode="offline")
    experiment = client.create_project(f"spool-{uuid.uuid4().hex[:6]}").create_experiment("e")
    experiment.log("before", 1.0, LogType.VALUE)
    experiment.flush()
    spool = client._backend.spool
    poisoned = {"key": uuid.uuid4().hex, "ops": [], "logs": [
        {"experiment_id": experiment.id, "name": BAD, "type": "VALUE", "time": time.time(), "data_json": "1"},
        {"experiment_id": experiment.id, "name": "beside", "type": "VALUE", "time": time.time(), "data_json": "2"}]}
    spool.append(poisoned)
    experiment.log("after", 3.0, LogType.VALUE)
    experiment.flush()
    close_remote(client)
    env = {**without_trackboard_env()}
    done = cli("sync", "--dir", str(directory), "--host", target.url, "--api-token", target.token, check=False, env=env)
    assert "surrogate" in done.stderr, done.stderr
    assert not spool.pending()
    reader = Client(target.token, host=target.url, directory=tmp_path / "reader")
    stored = reader.get_experiment_by_id(experiment.id)
    assert {log.name: log.data for log in stored.list_logs() if log.type is LogType.VALUE} == \
        {"before": 1.0, "beside": 2, "after": 3.0}
    close_remote(reader)
