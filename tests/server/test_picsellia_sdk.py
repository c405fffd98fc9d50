"""The unmodified public picsellia SDK (6.37.0) against a live trackboard server.

Every call here is the SDK's own code: its routes, payloads, status-code handling, presigned
upload (multipart POST to a signed URL without the token) and download (GET with Content-Length).
"""

from __future__ import annotations

import hashlib
import os
import socket
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests

picsellia = pytest.importorskip("picsellia")
from picsellia.exceptions import BadRequestError, ResourceConflictError, ResourceNotFoundError  # noqa: E402
from picsellia.types.enums import LogType  # noqa: E402
from sdk_uploads import check_multipart_answers, file_sha256, observe_multipart, write_random_file  # noqa: E402

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def sdk(server):
    with picsellia.Client(api_token=server.token, host=server.url) as client:
        yield client


@pytest.fixture
def sdk_experiment(sdk, request):
    project = sdk.create_project(f"sdk-{request.node.name}"[:200])
    return project.create_experiment("run")


def png(path, height=10, width=12):
    from PIL import Image

    Image.fromarray(np.arange(height * width * 3, dtype=np.uint8).reshape(height, width, 3)).save(path)
    return str(path)


def test_client_connects_to_the_single_organization(sdk, server):
    assert sdk.name == "trackboard"
    assert sdk.connection.connector_id is not None


def test_projects_create_get_list(sdk):
    project = sdk.create_project("sdk-projects", description="from the SDK")
    assert sdk.get_project("sdk-projects").id == project.id
    assert sdk.get_project_by_id(project.id).name == "sdk-projects"
    assert "sdk-projects" in [p.name for p in sdk.list_projects()]
    with pytest.raises(ResourceConflictError):
        sdk.create_project("sdk-projects")
    with pytest.raises(ResourceNotFoundError):
        sdk.get_project("no-such-project")


def test_experiments_create_with_parameters_get_list(sdk):
    project = sdk.create_project("sdk-experiments")
    experiment = project.create_experiment("baseline", description="d", parameters={"lr": 0.001, "layers": [64, 32]})
    assert str(experiment.status) in ("RUNNING", "ExperimentStatus.RUNNING")
    assert project.get_experiment("baseline").id == experiment.id
    assert project.get_experiment_by_id(experiment.id).name == "baseline"
    assert sdk.get_experiment_by_id(experiment.id).name == "baseline"
    assert [e.name for e in project.list_experiments()] == ["baseline"]
    assert experiment.get_log("parameters").data == {"lr": 0.001, "layers": [64, 32]}
    with pytest.raises(ResourceConflictError):
        project.create_experiment("baseline")
    with pytest.raises(ResourceNotFoundError):
        project.get_experiment("nope")
    experiment.update(status="SUCCESS")
    assert "SUCCESS" in str(experiment.status)


@pytest.mark.parametrize("log_type, data", [
    ("VALUE", 0.5),
    ("VALUE", "best"),
    ("TABLE", {"batch_size": 4, "optimizer": {"name": "adam"}}),
    ("BAR", {"x": ["cat", "dog"], "y": [3, 4]}),
    ("HEATMAP", {"categories": ["cat", "dog"], "values": [[5, 1], [2, 7]]}),
    ("LABELMAP", {"0": "cat", "1": "dog"}),
    ("EVALUATION", {"metrics": {"accuracy": 0.9},
                    "samples": [{"ground_truth": "cat", "prediction": "dog", "score": 0.6}]}),
])
def test_log_every_json_type_and_read_it_back(sdk_experiment, log_type, data):
    log = sdk_experiment.log("metric", data, log_type)
    assert log.type == LogType(log_type)
    assert log.data == data
    assert sdk_experiment.get_log("metric").data == data


def test_line_logs_append(sdk_experiment):
    first = sdk_experiment.log("loss", [3.0, 1.25, 1.4], LogType.LINE)
    assert first.data["values"] == [3.0, 1.25, 1.4] and first.data["steps"] == [0, 1, 2]
    sdk_experiment.log("loss", 0.95, LogType.LINE)
    log = sdk_experiment.get_log("loss")
    log.append([0.5, 0.25])
    assert log.data["steps"] == [4, 5]  # the answer holds what that call appended
    full = sdk_experiment.get_log("loss").data
    assert full["values"] == [3.0, 1.25, 1.4, 0.95, 0.5, 0.25]
    assert full["steps"] == [0, 1, 2, 3, 4, 5]
    sdk_experiment.log("curves", {"train": [1.0, 0.5], "val": [1.2, 0.7], "steps": [10, 20]}, LogType.LINE)
    curves = sdk_experiment.get_log("curves").data
    assert curves["val"]["steps"] == [10, 20] and curves["train"]["values"] == [1.0, 0.5]


def test_nan_is_valid_json_and_accepted_back(sdk_experiment):
    # The SDK's encoder (orjson) sends NaN and inf as null: kept as NaN, answered as "NaN".
    sdk_experiment.log("loss", [1.0, float("nan"), float("inf")], LogType.LINE)
    data = sdk_experiment.get_log("loss").data
    assert data["values"] == [1.0, "NaN", "NaN"]
    data["values"][2] = "-Infinity"
    sdk_experiment.get_log("loss").update(data=data)  # what was read is accepted back
    assert sdk_experiment.get_log("loss").data["values"] == [1.0, "NaN", "-Infinity"]


def test_image_log_uses_the_presigned_upload(sdk_experiment, tmp_path):
    log = sdk_experiment.log("sample", png(tmp_path / "sample.png"), LogType.IMAGE)
    assert log.type == LogType.IMAGE
    assert log.data["width"] == 12 and log.data["height"] == 10
    assert log.data["content_type"] == "image/png" and log.data["filename"] == "sample.png"
    assert sdk_experiment.get_log("sample").data == log.data
    with pytest.raises(ResourceConflictError):  # the SDK's replace=False
        sdk_experiment.log("sample", png(tmp_path / "other.png", 4, 4), LogType.IMAGE, replace=False)


def test_image_is_checked_by_content(sdk_experiment, tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"<html><script>alert(1)</script></html>")
    with pytest.raises(requests.HTTPError) as refused:  # the SDK's upload calls raise_for_status()
        sdk_experiment.log("fake", str(fake), LogType.IMAGE)
    assert refused.value.response.status_code == 400
    assert "not a readable image" in refused.value.response.json()["message"]
    with pytest.raises(ResourceNotFoundError):
        sdk_experiment.get_log("fake")


def test_logs_list_update_delete(sdk_experiment):
    sdk_experiment.log("a", 1, LogType.VALUE)
    sdk_experiment.log("b", {"k": 1}, LogType.TABLE)
    assert {(log.name, log.type) for log in sdk_experiment.list_logs()} == {("a", LogType.VALUE), ("b", LogType.TABLE)}
    log = sdk_experiment.get_log("b")
    log.update(data={"k": 2})
    assert sdk_experiment.get_log("b").data == {"k": 2}
    log.update(name="b2")
    assert sdk_experiment.get_log("b2").data == {"k": 2}
    log.delete()
    with pytest.raises(ResourceNotFoundError):
        sdk_experiment.get_log("b2")
    with pytest.raises(ResourceConflictError):
        sdk_experiment.log("a", 2, LogType.VALUE, replace=False)
    sdk_experiment.log("a", [1.0, 2.0], LogType.LINE)  # replace=True (the default) changes the type
    assert sdk_experiment.get_log("a").type == LogType.LINE


def test_bad_payload_is_400_and_stores_nothing(sdk_experiment):
    with pytest.raises(BadRequestError, match="HEATMAP 'cm'.*rows"):
        sdk_experiment.log("cm", {"categories": ["a", "b"], "values": [[1, 2, 3]]}, LogType.HEATMAP)
    with pytest.raises(ResourceNotFoundError):
        sdk_experiment.get_log("cm")
    with pytest.raises(BadRequestError, match="unknown log type"):
        sdk_experiment.connection.post(f"/api/experiment/{sdk_experiment.id}/logs",
                                       data=b'{"name": "x", "type": "SPLINE", "data": 1}')


def test_store_and_download_artifact(sdk_experiment, tmp_path):
    source = tmp_path / "model.bin"
    source.write_bytes(os.urandom(4096))
    artifact = sdk_experiment.store("model", str(source))
    assert artifact.filename == "model.bin" and not artifact.large
    again = sdk_experiment.store("model", str(source))  # get -> update path of the SDK
    assert again.id == artifact.id
    assert [a.name for a in sdk_experiment.list_artifacts()] == ["model"]
    target = tmp_path / "downloaded"
    target.mkdir()
    sdk_experiment.get_artifact("model").download(str(target), force_replace=True)
    assert (target / "model.bin").read_bytes() == source.read_bytes()
    artifact.delete()
    with pytest.raises(ResourceNotFoundError):
        sdk_experiment.get_artifact("model")


def test_large_artifact_goes_up_in_parts(sdk_experiment, tmp_path, monkeypatch):
    answers = observe_multipart(monkeypatch)
    source = tmp_path / "big.bin"
    sha256 = write_random_file(source, 26)  # over the SDK's 25 MiB: its multipart flow
    artifact = sdk_experiment.store("big", str(source))
    assert artifact.large
    check_multipart_answers(answers, 26 * MiB, sha256)
    target = tmp_path / "out"
    target.mkdir()
    artifact.download(str(target), force_replace=True)
    assert file_sha256(target / "big.bin") == sha256


def put_with_declared_length(url: str, length: int) -> str:
    """The status line answering a PUT that declares ``length`` bytes and sends none of them."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     f"Content-Length: {length}\r\n\r\n".encode())
        return sock.recv(4096).split(b"\r\n", 1)[0].decode()


@pytest.fixture
def multipart_api(api, sdk_experiment):
    """(api, new_object(kind), call(route, **payload)) for an experiment of the SDK."""
    from trackboard.server.api.deps import CONNECTOR_ID, ORGANIZATION_ID

    def new_object(kind: str = "ARTIFACT") -> str:
        route = f"{api.url}/api/organization/{ORGANIZATION_ID}/connector/{CONNECTOR_ID}/generate_object_name"
        answer = api.post(route, json={"filename": "x.bin", "type": kind,
                                       "context": {"experiment_id": str(sdk_experiment.id)}})
        return answer.json()["object_name"]

    def call(route: str, **payload) -> requests.Response:
        return api.post(f"{api.url}/api/object-storage/{CONNECTOR_ID}/{route}", json=payload, timeout=30)

    return api, new_object, call


def test_multipart_bad_input_is_4xx_and_loses_nothing(multipart_api, sdk_experiment):
    api, new_object, call = multipart_api
    name, other = new_object(), new_object()
    assert call("init_multipart_upload", object_name="shared/artifact/0/x.bin").status_code == 404
    image = call("init_multipart_upload", object_name=new_object("LOG_IMAGE"))
    assert image.status_code == 400 and "one upload" in image.json()["message"]  # the SDK falls back
    upload_id = call("init_multipart_upload", object_name=name).json()["upload_id"]

    def part_url(number: int) -> str:
        return call("generate_part_presigned_url", object_name=name, upload_id=upload_id, part_no=number).json()["url"]

    foreign = call("generate_part_presigned_url", object_name=other, upload_id=upload_id, part_no=1)
    forged = call("generate_part_presigned_url", object_name=name, upload_id=upload_id[:-4] + "0000", part_no=1)
    assert foreign.status_code == forged.status_code == 404 and "upload_id" in forged.json()["message"]
    assert call("generate_part_presigned_url", object_name=name, upload_id=upload_id, part_no=0).status_code == 422
    url = part_url(1)
    assert requests.put(url.replace("signature=", "signature=0"), data=b"x", timeout=30).status_code == 403
    assert " 413 " in put_with_declared_length(url, 25 * MiB + 1)  # over a part's cap: refused before the body
    etags = {}
    for number, content in ((1, b"a" * 10), (2, b"b" * 10), (3, b"")):
        answer = requests.put(part_url(number), data=content, timeout=30)
        assert answer.status_code == 200
        etags[number] = answer.headers["ETag"]

    def complete(*parts, object_name=name) -> requests.Response:
        return call("complete_part_upload", object_name=object_name, upload_id=upload_id,
                    parts=[{"ETag": etag, "PartNumber": number} for number, etag in parts])

    refusals = {
        "part 4 was never uploaded": complete((1, etags[1]), (4, etags[2])),
        "not the one its upload answered": complete((1, etags[2])),
        "ascending PartNumber order": complete((2, etags[2]), (1, etags[1])),
        "needs at least": complete((1, etags[1]), (2, etags[2])),  # S3's 5 MiB rule, on every store
    }
    for message, answer in refusals.items():
        assert answer.status_code == 400 and message in answer.json()["message"], answer.text
    assert complete((1, etags[1]), object_name=other).status_code == 404
    assert call("complete_part_upload", object_name=name, upload_id=upload_id, parts=[]).status_code == 422
    done = complete((1, etags[1]), (3, etags[3]))  # still whole after every refusal; an empty last part adds nothing
    assert done.status_code == 200 and done.json()["sha256"] == hashlib.sha256(b"a" * 10).hexdigest()
    assert complete((1, etags[1])).status_code == 409  # completed once
    assert requests.put(url, data=b"a", timeout=30).status_code == 409
    artifact = api.post(f"{api.url}/api/experiment/{sdk_experiment.id}/artifacts",
                        json={"name": "parts", "filename": "x.bin", "object_name": name})
    assert artifact.status_code == 201
    assert requests.get(artifact.json()["presigned_url"], timeout=30).content == b"a" * 10


def test_an_abandoned_multipart_upload_is_removed_by_gc(multipart_api, server, cli):
    api, new_object, call = multipart_api
    name = new_object()
    upload_id = call("init_multipart_upload", object_name=name).json()["upload_id"]
    url = call("generate_part_presigned_url", object_name=name, upload_id=upload_id, part_no=1).json()["url"]
    assert requests.put(url, data=b"half an upload", timeout=30).status_code == 200
    cli("gc", "--db", server.db, "--blobs", str(server.blobs))
    assert len(list((server.blobs / ".parts").iterdir())) >= 1  # young: may be an upload still going
    cli("gc", "--db", server.db, "--blobs", str(server.blobs), "--grace", "0")
    assert list((server.blobs / ".parts").iterdir()) == []
    answer = requests.put(url, data=b"the rest", timeout=30)
    assert answer.status_code == 404 and "init_multipart_upload" in answer.json()["message"]


def test_sdk_and_trackboard_client_see_the_same_data(sdk, remote):
    project = sdk.create_project("shared")
    experiment = project.create_experiment("run")
    experiment.log("loss", [1.0, 2.0], LogType.LINE)
    mine = remote().get_project("shared").get_experiment("run")
    mine.log("loss", 3.0, "line")
    assert mine.get_log("loss").data["values"] == [1.0, 2.0, 3.0]
    assert experiment.get_log("loss").data["steps"] == [0, 1, 2]
