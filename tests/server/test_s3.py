"""Blobs in S3-compatible storage, against a real S3 server process (moto's, on 127.0.0.1):
streamed multipart writes, content addressing, reads, gc, and a tracking server on --blobs s3://."""

from __future__ import annotations

import hashlib
import io
import os
import time
import tracemalloc

import pytest
import requests
from PIL import Image

from trackboard import LogType
from trackboard.errors import NotFoundError
from trackboard.store.blobs import open_blob_store
from trackboard.store.s3 import S3BlobStore
from trackboard.store.sql import Store
from trackboard.store.storage import collect_garbage

MiB = 1024 * 1024


class Pattern(io.RawIOBase):
    """``size`` pseudo-random bytes produced as they are read (never held whole in memory)."""

    def __init__(self, size: int) -> None:
        self.left, self.digest, self.counter = size, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.counter += 1
        block = self.counter.to_bytes(8, "little") * (n // 8) + b"\0" * (n % 8)
        self.left -= n
        self.digest.update(block)
        return block


def png(color: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (color, color, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def bucket(s3_server, s3_env) -> str:
    return s3_server.new_bucket()


def keys(s3_server, bucket: str) -> list[str]:
    return sorted(item["Key"] for item in s3_server.client().list_objects_v2(Bucket=bucket).get("Contents", ()))


def test_a_large_stream_goes_up_in_parts_and_comes_back(s3_server, bucket):
    blobs = open_blob_store(f"s3://{bucket}/team/blobs")
    assert isinstance(blobs, S3BlobStore) and blobs.location == f"s3://{bucket}/team/blobs"
    source = Pattern(40 * MiB)
    tracemalloc.start()
    try:
        sha256, size = blobs.put_stream(source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (sha256, size) == (source.digest.hexdigest(), 40 * MiB)
    # A few 8 MiB parts in memory at a time, never the whole object.
    assert peak < 36 * MiB, f"{peak / MiB:.1f} MiB held while uploading 40 MiB"
    assert keys(s3_server, bucket) == [f"team/blobs/{sha256[:2]}/{sha256}"]  # no partial object left
    assert s3_server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert blobs.exists(sha256) and blobs.size(sha256) == 40 * MiB
    with blobs.open(sha256) as stream:
        digest = hashlib.sha256()
        while block := stream.read(MiB):
            digest.update(block)
    assert digest.hexdigest() == sha256
    assert [info.sha256 for info in blobs.iter_blobs()] == [sha256]
    blobs.delete(sha256)
    assert not blobs.exists(sha256) and keys(s3_server, bucket) == []


def test_small_blobs_bad_digests_and_stale_partials(s3_server, bucket):
    blobs = S3BlobStore(bucket)
    sha256 = blobs.put_bytes(b"hello")
    assert blobs.read(sha256) == b"hello" and keys(s3_server, bucket) == [f"{sha256[:2]}/{sha256}"]
    assert blobs.put_stream(io.BytesIO(b"hello")) == (sha256, 5)  # same content: same digest, one object
    assert len(keys(s3_server, bucket)) == 1
    before = next(blobs.iter_blobs()).modified
    time.sleep(1.1)
    assert blobs.put_bytes(b"hello") == sha256  # exists: not sent again, but its age restarts (gc)
    assert next(blobs.iter_blobs()).modified > before
    assert not blobs.exists("../../etc/passwd")
    with pytest.raises(Exception, match="not a sha256 digest"):
        blobs.read("../../etc/passwd")
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key=".partial/left-by-a-crash", Body=b"x")
    client.create_multipart_upload(Bucket=bucket, Key=".partial/interrupted")
    abandoned = blobs.start_parts()  # a write in parts (an SDK multipart upload) nobody finished
    blobs.put_part(abandoned, 1, io.BytesIO(b"half"))
    blobs.remove_stale_partials(older_than_s=3600)
    assert ".partial/left-by-a-crash" in keys(s3_server, bucket)  # young: may be a write in progress
    assert list(blobs.parts(abandoned)) == [1]
    blobs.remove_stale_partials(older_than_s=-60)
    assert keys(s3_server, bucket) == [f"{sha256[:2]}/{sha256}"]
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with pytest.raises(NotFoundError):
        blobs.parts(abandoned)


def test_the_store_and_gc_on_s3(s3_server, bucket, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}", f"s3://{bucket}/p")
    from trackboard import Project
    from trackboard.backend import LocalBackend

    project = Project(LocalBackend(store), store.create_project("s3"))
    experiment = project.create_experiment("run")
    experiment.log("sample", png(7), LogType.IMAGE)
    artifact = tmp_path / "weights.bin"
    artifact.write_bytes(os.urandom(2048))
    experiment.store("weights", artifact)
    experiment.flush()
    assert experiment.get_log("sample").read_bytes() == png(7)
    assert experiment.get_artifact("weights").download(tmp_path / "back").read_bytes() == artifact.read_bytes()
    assert len(keys(s3_server, bucket)) == 2

    experiment.delete_log("sample")
    assert collect_garbage(store, grace_s=0).deleted == 1
    assert keys(s3_server, bucket) == [f"p/{experiment.get_artifact('weights').sha256[:2]}/{experiment.get_artifact('weights').sha256}"]
    store.delete_experiment(experiment.id)
    assert collect_garbage(store, grace_s=0).deleted == 1
    assert keys(s3_server, bucket) == []
    store.close()


def test_a_server_keeps_blobs_in_s3_and_redirects_downloads(s3_server, bucket, make_server, remote_factory, tmp_path):
    missing = make_server(blobs=f"s3://{bucket}-missing/x", **s3_server.env)
    with pytest.raises(RuntimeError, match="the bucket cannot be used"):  # refused at start, not at the first upload
        missing.start()
    server = make_server(blobs=f"s3://{bucket}/server", **s3_server.env)
    token = server.create_token()
    server.start()
    client = remote_factory(server, token)
    experiment = client.get_or_create_project("s3-server").create_experiment("run")
    experiment.log("sample", png(9), LogType.IMAGE)
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(os.urandom(7 * MiB))
    experiment.store("model", artifact)
    experiment.flush()
    assert not (server.root / "blobs").exists()  # nothing on the server's disk
    assert len(keys(s3_server, bucket)) == 2

    image = experiment.get_log("sample")
    assert image.read_bytes() == png(9)  # the client follows the redirect to the bucket
    assert experiment.get_artifact("model").download(tmp_path / "back").read_bytes() == artifact.read_bytes()

    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    sha256 = image.data["sha256"]
    answer = api.get(f"{server.url}/api/trackboard/blobs/{sha256}", allow_redirects=False, timeout=10)
    assert answer.status_code == 307 and answer.headers["location"].startswith(s3_server.endpoint)
    shown = api.get(f"{server.url}/ui/data/experiments/{experiment.id}/image", params={"name": "sample"}, timeout=10)
    assert shown.status_code == 200 and shown.content == png(9) and shown.headers["content-type"] == "image/png"
    missing = api.get(f"{server.url}/api/trackboard/blobs/{'0' * 64}", timeout=10)
    assert missing.status_code == 404


def test_the_picsellia_sdk_on_an_s3_server(s3_server, bucket, make_server, tmp_path, monkeypatch):
    picsellia = pytest.importorskip("picsellia")
    from picsellia.types.enums import LogType as SdkLogType
    from sdk_uploads import check_multipart_answers, file_sha256, observe_multipart, write_random_file

    server = make_server(blobs=f"s3://{bucket}", **s3_server.env)
    token = server.create_token()
    server.start()
    image = tmp_path / "sample.png"
    image.write_bytes(png(42))
    source = tmp_path / "model.bin"
    sha256 = write_random_file(source, 26)  # over the SDK's 25 MiB: its multipart flow, parts into the bucket
    answers = observe_multipart(monkeypatch)
    with picsellia.Client(api_token=token, host=server.url) as sdk:
        experiment = sdk.create_project("sdk-s3").create_experiment("run")
        log = experiment.log("sample", str(image), SdkLogType.IMAGE)
        assert log.data["sha256"] == hashlib.sha256(png(42)).hexdigest()
        experiment.store("model", str(source))
        check_multipart_answers(answers, 26 * MiB, sha256)
        target = tmp_path / "downloaded"
        target.mkdir()
        experiment.get_artifact("model").download(str(target), force_replace=True)  # via the bucket's presigned URL
    assert file_sha256(target / "model.bin") == sha256
    assert keys(s3_server, bucket) == sorted(f"{digest[:2]}/{digest}" for digest in (sha256, log.data["sha256"]))
    assert s3_server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []  # no part left
