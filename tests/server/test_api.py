"""The REST API over HTTP: tokens, size caps, validation, idempotent batches, signed URLs."""

from __future__ import annotations

import base64
import io
import json
import socket
import time
import uuid
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests

from trackboard import wire

SIGNED = {"/api/object-storage/objects", "/api/object-storage/parts", "/api/object-storage/download"}


def org(api) -> str:
    return api.get(f"{api.url}/api/home/ping").json()["default_organization"]


def connector(api) -> str:
    return api.get(f"{api.url}/api/organization/{org(api)}").json()["default_connector_id"]


@pytest.fixture
def experiment_id(api, request):
    project = api.post(f"{api.url}/api/organization/{org(api)}/projects",
                       json={"name": f"api-{request.node.name}-{uuid.uuid4().hex[:6]}"}).json()
    return api.post(f"{api.url}/api/project/{project['id']}/experiments", json={"name": "run"}).json()["id"]


def strict_json(response: requests.Response):
    """The body parsed as standard JSON (bare NaN/Infinity tokens are an error)."""
    def refuse(token):
        raise ValueError(f"invalid JSON token {token}")

    return json.loads(response.text, parse_constant=refuse)


# -- tokens ----------------------------------------------------------------------------------


def test_health_needs_no_token(server):
    assert requests.get(f"{server.url}/api/health").json() == {"status": "ok"}


def operations(server):
    schema = requests.get(f"{server.url}/openapi.json").json()
    for path, methods in schema["paths"].items():
        if not path.startswith("/api/"):
            continue  # the dashboard's pages (signed in with a cookie) are tested with the dashboard
        for method in methods:
            yield method.upper(), path


def concrete(path: str) -> str:
    out = []
    for part in path.split("/"):
        if part.startswith("{"):
            part = "0" * 64 if part == "{sha256}" else str(uuid.uuid4())
        out.append(part)
    return "/".join(out)


@pytest.mark.parametrize("token", [None, "tb_wrong", ""])
def test_every_api_route_but_health_needs_a_token(server, token):
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    checked = 0
    for method, path in operations(server):
        if path == "/api/health" or path in SIGNED:
            continue
        response = requests.request(method, server.url + concrete(path), headers=headers, json={})
        assert response.status_code == 401, (method, path, response.status_code, response.text)
        assert response.json() == {"detail": "missing or invalid API token"}
        checked += 1
    assert checked > 25


def test_revoked_token_is_refused(server, cli):
    token = server.create_token("to-revoke")
    assert requests.get(f"{server.url}/api/home/ping", headers={"Authorization": f"Bearer {token}"}).ok
    assert "to-revoke\twrite\t*\tnever\tactive" in cli("token", "list", "--db", server.db).stdout
    cli("token", "revoke", "to-revoke", "--db", server.db)
    assert "to-revoke\twrite\t*\tnever\trevoked" in cli("token", "list", "--db", server.db).stdout
    answer = requests.get(f"{server.url}/api/home/ping", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


def test_signed_urls_need_a_valid_signature(api, experiment_id):
    name = api.post(f"{api.url}/api/organization/{org(api)}/connector/{connector(api)}/generate_object_name",
                    json={"filename": "a.txt", "type": "ARTIFACT", "context": {"experiment_id": experiment_id}}
                    ).json()["object_name"]
    url = api.post(f"{api.url}/api/object-storage/{connector(api)}/generate_presigned_url",
                   json={"object_name": name}).json()["presigned_url_data"]["url"]
    parts = urlparse(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    for change in ({"signature": "0" * 64}, {"expires": str(int(time.time()) - 10)}, {"max_bytes": "99999999999"}):
        tampered = f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode({**query, **change})}"
        assert requests.put(tampered, data=b"hello").status_code == 403
    answer = requests.put(url, data=b"hello")  # no token: the URL carries its own signature
    assert answer.status_code == 200 and answer.json()["size"] == 5


# -- limits ----------------------------------------------------------------------------------


def raw_exchange(server, method: str, target: str, headers: dict, body_chunks=()) -> tuple[int, bytes]:
    """Send a request by hand (to declare lengths no client would), return (status, body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        head += "".join(f"{key}: {value}\r\n" for key, value in headers.items()) + "\r\n"
        sock.sendall(head.encode())
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking it all
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
            block = sock.recv(65536)
            if not block:
                break
            data += block
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def test_oversized_bodies_get_413_before_they_are_read(server, experiment_id):
    auth = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    for target, size in ((f"/api/experiment/{experiment_id}/logs", 17 * 1024 * 1024),
                         ("/api/trackboard/batches", 101 * 1024 * 1024),
                         ("/api/organization/x/projects", 1 << 40)):
        status, body = raw_exchange(server, "POST", target, {**auth, "Content-Length": str(size)})
        assert status == 413, (target, body)
        assert b"at most" in body


def test_chunked_body_over_the_cap_gets_413(server, experiment_id):
    auth = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json",
            "Transfer-Encoding": "chunked"}
    block = b"x" * (1 << 20)
    chunks = (b"%x\r\n%s\r\n" % (len(block), block) for _ in range(20))  # 20 MiB > the 16 MiB cap
    status, body = raw_exchange(server, "POST", f"/api/experiment/{experiment_id}/logs", auth, chunks)
    assert status == 413, body


def test_upload_over_the_cap_gets_413(api, server, experiment_id):
    name = api.post(f"{api.url}/api/organization/{org(api)}/connector/{connector(api)}/generate_object_name",
                    json={"filename": "big.bin", "type": "ARTIFACT", "context": {"experiment_id": experiment_id}}
                    ).json()["object_name"]
    url = api.post(f"{api.url}/api/object-storage/{connector(api)}/generate_presigned_url",
                   json={"object_name": name}).json()["presigned_url_data"]["url"]
    parts = urlparse(url)
    status, _ = raw_exchange(server, "PUT", f"{parts.path}?{parts.query}",
                             {"Content-Length": str(server.max_upload_bytes + (1 << 20))})
    assert status == 413


# -- validation: a bad payload stores nothing -------------------------------------------------


def test_bad_log_is_400_naming_the_problem_and_stores_nothing(api, experiment_id):
    answer = api.post(f"{api.url}/api/experiment/{experiment_id}/logs",
                      json={"name": "bars", "type": "bar", "data": {"x": ["a", "b"], "y": [1]}})
    assert answer.status_code == 400
    assert answer.json()["message"] == "BAR 'bars': 2 x labels for 1 y values; expected equal lengths"
    assert api.get(f"{api.url}/api/experiment/{experiment_id}/logs/find", params={"name": "bars"}).status_code == 404
    assert api.get(f"{api.url}/api/experiment/{experiment_id}/logs/ids").json() == []


def test_bad_names_are_400_and_create_nothing(api):
    project = api.post(f"{api.url}/api/organization/{org(api)}/projects", json={"name": "bad-names"}).json()
    for name in ("x" * 257, "nul\x00byte", ""):
        answer = api.post(f"{api.url}/api/project/{project['id']}/experiments", json={"name": name})
        assert answer.status_code == 400, answer.text
    assert api.get(f"{api.url}/api/project/{project['id']}/experiments").json() == {"items": [], "count": 0}


def test_image_data_is_never_a_server_path(api, experiment_id):
    for data in ("/etc/passwd", "../../server.db", {"object_name": "../../etc/passwd"}):
        answer = api.post(f"{api.url}/api/experiment/{experiment_id}/logs",
                          json={"name": "img", "type": "IMAGE", "data": data})
        assert answer.status_code in (400, 404), answer.text
    assert api.get(f"{api.url}/api/experiment/{experiment_id}/logs/ids").json() == []


def test_object_names_and_file_names_are_made_safe(api, experiment_id):
    answer = api.post(
        f"{api.url}/api/organization/{org(api)}/connector/{connector(api)}/generate_object_name",
        json={"filename": "../../../etc/pass\nwd<script>.png", "type": "ARTIFACT",
              "context": {"experiment_id": experiment_id}},
    ).json()["object_name"]
    assert ".." not in answer and "\n" not in answer and "<" not in answer
    assert answer.startswith(f"{experiment_id}/artifact/")
    missing = api.post(f"{api.url}/api/object-storage/{connector(api)}/retrieve_presigned_url",
                       json={"object_name": "../../server.db"})
    assert missing.status_code == 404
    assert api.get(f"{api.url}/api/trackboard/blobs/..%2F..%2Fserver.db").status_code in (404, 422)


def test_downloads_have_length_and_are_never_rendered(api, experiment_id):
    content = b"<html><script>alert(1)</script></html>"
    name = api.post(f"{api.url}/api/organization/{org(api)}/connector/{connector(api)}/generate_object_name",
                    json={"filename": "page.html", "type": "ARTIFACT", "context": {"experiment_id": experiment_id}}
                    ).json()["object_name"]
    url = api.post(f"{api.url}/api/object-storage/{connector(api)}/generate_presigned_url",
                   json={"object_name": name}).json()["presigned_url_data"]["url"]
    requests.post(url, files={"file": ("page.html", io.BytesIO(content))}).raise_for_status()
    artifact = api.post(f"{api.url}/api/experiment/{experiment_id}/artifacts",
                        json={"name": "page", "filename": "page.html", "object_name": name}).json()
    download = requests.get(artifact["presigned_url"])
    assert download.content == content
    assert download.headers["content-length"] == str(len(content))
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment")


# -- data as valid JSON -----------------------------------------------------------------------


def test_non_finite_numbers_are_valid_json(api, experiment_id):
    api.post(f"{api.url}/api/experiment/{experiment_id}/logs",
             json={"name": "loss", "type": "LINE", "data": [1.0, "NaN", "-Infinity"]}).raise_for_status()
    answer = api.get(f"{api.url}/api/experiment/{experiment_id}/logs/find", params={"name": "loss"})
    assert strict_json(answer)["data"]["values"] == [1.0, "NaN", "-Infinity"]


# -- the batch route --------------------------------------------------------------------------


def line_entry(experiment_id: str, name: str, values, steps=None) -> dict:
    series = {"name": None, "values": wire.pack(values), "steps": None if steps is None else wire.pack(steps)}
    return {"experiment_id": experiment_id, "name": name, "type": "LINE", "time": time.time(), "series": [series]}


def test_a_retried_batch_is_applied_once(api, experiment_id):
    body = {"key": uuid.uuid4().hex, "logs": [line_entry(experiment_id, "loss", [1.0, 2.0, 3.0])]}
    first = api.post(f"{api.url}/api/trackboard/batches", json=body).json()
    again = api.post(f"{api.url}/api/trackboard/batches", json=body).json()
    assert (first["duplicate"], first["applied"]) == (False, 1)
    assert (again["duplicate"], again["applied"]) == (True, 0)
    data = api.get(f"{api.url}/api/experiment/{experiment_id}/logs/find", params={"name": "loss"}).json()["data"]
    assert data["values"] == [1.0, 2.0, 3.0] and data["steps"] == [0, 1, 2]


def test_batch_refuses_bad_entries_and_applies_the_rest(api, experiment_id):
    bad_column = line_entry(experiment_id, "odd", [1.0, 2.0], steps=[1.0])
    logs = [
        line_entry(experiment_id, "good", [1.0]),
        bad_column,
        {"experiment_id": experiment_id, "name": "bar", "type": "BAR", "time": time.time(),
         "data_json": json.dumps({"x": [1], "y": []})},
        {"experiment_id": experiment_id, "name": "img", "type": "IMAGE", "time": time.time(),
         "data_json": json.dumps({"filename": "a.png"}), "content_b64": base64.b64encode(b"not an image").decode()},
        line_entry(str(uuid.uuid4()), "elsewhere", [1.0]),
        {"experiment_id": experiment_id, "name": "value", "type": "VALUE", "time": time.time(), "data_json": "NaN"},
    ]
    result = api.post(f"{api.url}/api/trackboard/batches", json={"key": uuid.uuid4().hex, "logs": logs}).json()
    refused = {item["index"]: item for item in result["refused"]}
    assert sorted(refused) == [1, 2, 3, 4]
    assert refused[1]["message"] == "LINE 'odd': 1 steps for 2 values; expected 2"
    assert refused[2]["status"] == 400 and "BAR 'bar'" in refused[2]["message"]
    assert "not a readable image" in refused[3]["message"]
    assert refused[4]["status"] == 404
    names = {row["name"] for row in api.get(f"{api.url}/api/trackboard/experiments/{experiment_id}/logs").json()}
    assert names == {"good", "value"}
    value = api.get(f"{api.url}/api/trackboard/experiments/{experiment_id}/log", params={"name": "value"}).json()
    assert value["data_json"] == "NaN"  # a NaN VALUE is not the string "NaN"


def test_batch_type_conflict_is_409(api, experiment_id):
    logs = [{"experiment_id": experiment_id, "name": "x", "type": "VALUE", "time": time.time(), "data_json": "1"}]
    api.post(f"{api.url}/api/trackboard/batches", json={"key": uuid.uuid4().hex, "logs": logs}).raise_for_status()
    result = api.post(f"{api.url}/api/trackboard/batches",
                      json={"key": uuid.uuid4().hex, "logs": [line_entry(experiment_id, "x", [1.0])]}).json()
    assert result["refused"][0]["status"] == 409


def test_offline_created_experiments_are_ensured_by_id(api):
    project_id, experiment_id = str(uuid.uuid4()), str(uuid.uuid4())
    ops = [{"op": "experiment", "id": experiment_id, "name": "offline", "project_id": project_id,
            "project_name": "made-offline"},
           {"op": "status", "experiment_id": experiment_id, "status": "SUCCESS"}]
    body = {"key": uuid.uuid4().hex, "ops": ops, "logs": [line_entry(experiment_id, "loss", [1.0])]}
    for _ in range(2):  # a replay changes nothing
        result = api.post(f"{api.url}/api/trackboard/batches", json=body).json()
        assert result["ids"][experiment_id] == experiment_id and result["refused"] == []
    experiment = api.get(f"{api.url}/api/experiment/{experiment_id}").json()
    assert experiment["status"] == "SUCCESS" and experiment["name"] == "offline"
    # Another offline experiment of the same name: 'new' gets a numbered name, 'use' joins it.
    other = str(uuid.uuid4())
    op = {**ops[0], "id": other}
    result = api.post(f"{api.url}/api/trackboard/batches", json={"key": uuid.uuid4().hex, "ops": [op]}).json()
    assert result["renamed"] == {other: "offline (2)"}
    joined = str(uuid.uuid4())
    result = api.post(f"{api.url}/api/trackboard/batches",
                      json={"key": uuid.uuid4().hex, "ops": [{**op, "id": joined, "if_exists": "use"}]}).json()
    assert result["ids"][joined] == experiment_id


def test_openapi_schema_is_served(server):
    schema = requests.get(f"{server.url}/openapi.json").json()
    assert "/api/trackboard/batches" in schema["paths"]
    assert "/api/experiment/{experiment_id}/logs" in schema["paths"]
    batch = schema["paths"]["/api/trackboard/batches"]["post"]
    assert batch["x-max-body-bytes"] == 100 * 1024 * 1024
    assert "413" in batch["responses"] and "401" in batch["responses"]
