"""Helpers for the tests of the picsellia SDK's multipart upload (a large file, what the server answered)."""

from __future__ import annotations

import hashlib
import os

MiB = 1024 * 1024


def write_random_file(path, mib: int) -> str:
    """``mib`` MiB of random bytes, written a MiB at a time; returns their sha256."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for _ in range(mib):
            block = os.urandom(MiB)
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def file_sha256(path) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def observe_multipart(monkeypatch) -> list[tuple[str, dict]]:
    """What the server answers the SDK's multipart calls, in order (the SDK's own code still runs them)."""
    from picsellia.services.upload.platform import PlatformAdapter

    answers = []
    for name in ("init_multipart_upload", "generate_part_presigned_url", "complete_part_upload"):
        def observed(self, *args, _call=getattr(PlatformAdapter, name), _name=name):
            response = _call(self, *args)
            answers.append((_name, response.json()))
            return response

        monkeypatch.setattr(PlatformAdapter, name, observed)
    return answers


def check_multipart_answers(answers, size: int, sha256: str) -> None:
    assert [name for name, _ in answers] == ["init_multipart_upload", "generate_part_presigned_url",
                                             "generate_part_presigned_url", "complete_part_upload"]  # 25 + 1 MiB
    assert answers[0][1]["client_type"] == "minio" and answers[0][1]["upload_id"]  # no fallback to one upload
    assert answers[-1][1]["size"] == size and answers[-1][1]["sha256"] == sha256
