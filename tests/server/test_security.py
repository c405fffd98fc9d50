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
def target(own_server):
    """This module's own server (its memory is measured): the batch cap is the default 100 MiB."""
    return own_server


def close_remote(client: Client) -> None:
    from trackboard.remote import release

    release(client._backend, timeout=30)


# -- High 1, 2: nothing is read before the token (or signature) is checked -----------------------------


@pytest.mark.parametrize("path, size_mib, expected", [
    ("/api/trackboard/batches", 95, "401"),           # under the 100 MiB cap, no token: 401 before the body
    ("/api/object-storage/objects?object_name=x&expires=9999999999&max_bytes=999999999&signature=bad", 25, "403"),
    ("/api/object-storage/parts?object_name=x&upload_id=y&part_no=1&expires=9999999999&max_bytes=99999999"
     "&signature=bad", 25, "403"),                    # a multipart upload's part, at its 25 MiB cap
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
    close_remote(client)


def test_a_poisoned_spooled_batch_is_dropped_and_sync_goes_on(target, tmp_path, cli):
    """A spool written by an older client holds a record the server refuses: sync reports it,
    stores everything else, and the spool is empty afterwards (nothing waits behind it forever)."""
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


# -- Medium 5: one request's work is bounded -------------------------------------------------------------


def test_one_request_cannot_hold_the_write_lock_for_long(target):
    from trackboard import wire

    headers = {"Authorization": f"Bearer {target.token}"}
    client = Client(target.token, host=target.url, directory=target.root / "client-bounds")
    experiment = client.create_project(f"bounds-{uuid.uuid4().hex[:6]}").create_experiment("e")
    with pytest.raises(InvalidLogError, match="at most 500"):
        experiment.log("wide", {f"s{i}": [1.0] for i in range(501)}, LogType.LINE)
    # The batch route refuses more series or points than one request may touch, naming the cap.
    columns = [{"name": f"s{i}", "values": wire.pack([1.0])} for i in range(1001)]
    body = {"key": uuid.uuid4().hex, "logs": [{"experiment_id": experiment.id, "name": "wide", "type": "LINE",
                                               "time": time.time(), "series": columns}]}
    answer = requests.post(f"{target.url}/api/trackboard/batches", json=body, headers=headers)
    assert answer.status_code == 413 and "at most 1000" in answer.json()["message"]
    many = [{"name": None, "values": wire.pack([0.0] * 1_000_001)}]
    body["logs"][0]["series"] = many
    answer = requests.post(f"{target.url}/api/trackboard/batches", json=body, headers=headers)
    assert answer.status_code == 413 and "points" in answer.json()["message"]
    # A client that logs many wide calls has them split into requests the server takes.
    for call in range(6):
        experiment.log("metrics", {f"m{call}_{i}": [float(i)] for i in range(400)}, LogType.LINE)
    experiment.flush()
    assert len(experiment.get_log("metrics").data) == 2400
    close_remote(client)


# -- Low ----------------------------------------------------------------------------------------------------


def test_sign_in_and_sign_out_refuse_other_origins(target):
    for path in ("/ui/signin", "/ui/signout"):
        answer = requests.post(f"{target.url}{path}", data={"token": target.token},
                               headers={"Origin": "http://attacker.example"}, allow_redirects=False)
        assert answer.status_code == 403, path
        answer = requests.post(f"{target.url}{path}", data={"token": target.token},
                               headers={"Sec-Fetch-Site": "cross-site"}, allow_redirects=False)
        assert answer.status_code == 403, path
    same = requests.post(f"{target.url}/ui/signin", data={"token": target.token},
                         headers={"Origin": target.url}, allow_redirects=False)
    assert same.status_code == 303


def test_pages_forbid_framing_and_foreign_scripts(target):
    for path in ("/ui/signin", "/ui/"):
        headers = requests.get(f"{target.url}{path}", headers={"Authorization": f"Bearer {target.token}"}).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"


def _upload_url(target, headers, experiment_id: str, kind: str = "ARTIFACT", filename: str = "a.txt") -> tuple[str, str]:
    organization = org(target.url, headers)
    connector = requests.get(f"{target.url}/api/organization/{organization}", headers=headers).json()["default_connector_id"]
    name = requests.post(f"{target.url}/api/organization/{organization}/connector/{connector}/generate_object_name",
                         json={"filename": filename, "type": kind, "context": {"experiment_id": experiment_id}},
                         headers=headers).json()["object_name"]
    url = requests.post(f"{target.url}/api/object-storage/{connector}/generate_presigned_url",
                        json={"object_name": name}, headers=headers).json()["presigned_url_data"]["url"]
    return name, url


def _experiment(target, token: str, name: str = "e") -> str:
    headers = {"Authorization": f"Bearer {token}"}
    organization = org(target.url, headers)
    project = requests.post(f"{target.url}/api/organization/{organization}/projects",
                            json={"name": f"p-{uuid.uuid4().hex[:8]}"}, headers=headers).json()
    return requests.post(f"{target.url}/api/project/{project['id']}/experiments", json={"name": name},
                         headers=headers).json()["id"]


def test_an_upload_url_works_once(target):
    headers = {"Authorization": f"Bearer {target.token}"}
    name, url = _upload_url(target, headers, _experiment(target, target.token))
    assert requests.put(url, data=b"first").status_code == 200
    again = requests.put(url, data=b"second")
    assert again.status_code == 409 and "already used" in again.json()["message"]


def test_a_download_url_stops_working_when_its_token_is_revoked(target, cli):
    token = target.create_token(f"downloader-{uuid.uuid4().hex[:6]}")
    name = next(row.split("\t")[0] for row in cli("token", "list", "--db", target.db).stdout.splitlines()
                if row.startswith("downloader-") and row.endswith("active"))
    headers = {"Authorization": f"Bearer {token}"}
    experiment_id = _experiment(target, token)
    object_name, url = _upload_url(target, headers, experiment_id)
    assert requests.put(url, data=b"artifact bytes").status_code == 200
    artifact = requests.post(f"{target.url}/api/experiment/{experiment_id}/artifacts",
                             json={"name": "a", "filename": "a.txt", "object_name": object_name}, headers=headers).json()
    assert requests.get(artifact["presigned_url"]).content == b"artifact bytes"
    cli("token", "revoke", name, "--db", target.db)
    assert requests.get(artifact["presigned_url"]).status_code == 403


def test_a_blob_digest_attaches_nothing_to_another_experiment(target):
    headers = {"Authorization": f"Bearer {target.token}"}
    owner = _experiment(target, target.token, "owner")
    object_name, url = _upload_url(target, headers, owner)
    assert requests.put(url, data=b"secret bytes").status_code == 200
    stored = requests.post(f"{target.url}/api/experiment/{owner}/artifacts",
                           json={"name": "a", "filename": "a.txt", "object_name": object_name}, headers=headers).json()
    thief = _experiment(target, target.token, "thief")
    answer = requests.post(f"{target.url}/api/experiment/{thief}/artifacts",
                           json={"name": "stolen", "filename": "s.txt", "object_name": stored["object_name"]},
                           headers=headers)
    assert answer.status_code == 404
    # Its own experiment may name it again (the SDK re-sends what it read).
    again = requests.post(f"{target.url}/api/experiment/{owner}/artifacts", params={"replace": "true"},
                          json={"name": "a", "filename": "a.txt", "object_name": stored["object_name"]}, headers=headers)
    assert again.status_code == 201


def test_the_open_switch_is_gone(make_server):
    server = make_server(TRACKBOARD_SERVER_OPEN="1")
    with pytest.raises(RuntimeError, match="TRACKBOARD_SERVER_OPEN is no longer supported"):
        server.start(timeout=20)


def test_a_deeply_nested_table_is_refused(target):
    headers = {"Authorization": f"Bearer {target.token}"}
    experiment_id = _experiment(target, target.token)
    nested: dict = {"leaf": 1}
    for _ in range(300):
        nested = {"n": nested}
    answer = requests.post(f"{target.url}/api/experiment/{experiment_id}/logs",
                           json={"name": "deep", "type": "TABLE", "data": nested}, headers=headers)
    assert answer.status_code == 400 and "nested more than 32" in answer.json()["message"]
    assert requests.get(f"{target.url}/api/experiment/{experiment_id}/logs/find", params={"name": "deep"},
                        headers=headers).status_code == 404  # nothing stored


def test_a_static_path_with_nul_is_not_found(target):
    assert requests.get(f"{target.url}/ui/static/css/dashboard.css%00.png").status_code == 404


def test_batch_op_ids_must_be_uuids(target):
    headers = {"Authorization": f"Bearer {target.token}"}
    for bad in ("x" * 10_000, "a/b", "../../etc"):
        body = {"key": uuid.uuid4().hex, "ops": [{"op": "project", "id": bad, "name": f"ops-{uuid.uuid4().hex[:6]}"}]}
        answer = requests.post(f"{target.url}/api/trackboard/batches", json=body, headers=headers)
        assert answer.status_code == 422, answer.text


def test_images_with_too_many_pixels_are_refused(target, tmp_path):
    from PIL import Image

    path = tmp_path / "bomb.png"
    Image.new("1", (12_000, 10_000)).save(path, optimize=True)  # 120 megapixels
    assert path.stat().st_size < 200_000
    client = Client(target.token, host=target.url, directory=target.root / "client-pixels")
    experiment = client.create_project(f"pixels-{uuid.uuid4().hex[:6]}").create_experiment("e")
    with pytest.raises(InvalidLogError, match="pixels"):
        experiment.log("bomb", str(path), LogType.IMAGE)
    headers = {"Authorization": f"Bearer {target.token}"}
    object_name, url = _upload_url(target, headers, experiment.id, kind="LOG_IMAGE", filename="bomb.png")
    answer = requests.put(url, data=path.read_bytes())
    assert answer.status_code == 400 and "pixels" in answer.json()["message"]
    close_remote(client)


def test_a_damaged_database_is_reported_at_start_and_by_doctor(tmp_path, cli, make_server):
    directory = tmp_path / "store"
    client = Client(directory=directory)
    experiment = client.create_project("p").create_experiment("e")
    experiment.log("loss", [float(i) for i in range(20_000)], LogType.LINE)
    experiment.close()
    assert cli("doctor", "--dir", str(directory)).stdout.strip().endswith("no problems found")
    database = directory / "trackboard.db"
    import sqlite3

    with sqlite3.connect(database) as conn:  # move everything from the WAL into the file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    with open(database, "r+b") as handle:  # scribble over the pages in the second half of the file
        handle.seek(pages // 2 * 4096)
        handle.write(b"\xff" * 4096 * (pages - pages // 2))
    report = cli("doctor", "--dir", str(directory), check=False)
    assert report.returncode == 1 and "problem: database" in report.stdout
    server = make_server()
    server.db = f"sqlite:///{database}"
    try:
        server.start()
        server.stop()
    except RuntimeError:  # too damaged to read its schema version: refused, in one line, after the warning
        assert "trackboard: cannot use the database" in server.log()
    assert "WARNING: the database" in server.log() and "trackboard doctor" in server.log()


def test_the_route_policies_are_read_when_the_app_is_made_not_by_its_first_request(tmp_path):
    """Building the OpenAPI schema (where each route's role and body cap are declared) takes about
    0.4 s of CPU: made with the app, it is not paid by the first request each worker answers."""
    from fastapi.testclient import TestClient

    from trackboard.server.app import create_app
    from trackboard.store.sql import Store

    store = Store(f"sqlite:///{tmp_path / 'policies.db'}", str(tmp_path / "blobs"))
    app = create_app(store)
    assert app.openapi_schema is not None  # built before any request
    with TestClient(app) as client:
        assert client.get("/api/home/ping").status_code == 401  # and the policies read from it apply
        assert client.post("/api/home/ping").status_code in (401, 405)
