"""Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, R2...) through boto3.

``s3://bucket/prefix`` keeps blob ``abcd...`` at ``prefix/ab/abcd...``. boto3 is configured the
standard AWS way: credentials and region from the environment or ``~/.aws``, and another service
than AWS through ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``).

A write streams the bytes to a temporary key ``prefix/.partial/<uuid>`` while hashing them
(boto3's managed transfer: multipart above ``MULTIPART_THRESHOLD``, so memory stays at a few
parts whatever the size), then copies that object to its digest's key inside the bucket and
deletes the temporary one: a blob is visible under its digest only once complete.

A write in parts is an S3 multipart upload to such a temporary key (its id: ``<uuid>.<UploadId>``,
so the bucket holds all its state); finishing completes it, reads it back once to hash it, and
copies it to its digest's key the same way.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, Iterator

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import NotFoundError, TrackboardError
from .blobs import BLOCK, SHA256, WRITE_ID, BlobInfo, BlobStore, PartInfo, check_digest, check_part_number

MULTIPART_THRESHOLD = 8 * 1024 * 1024
PART_SIZE = 8 * 1024 * 1024  # S3's smallest part is 5 MiB
PARTIAL = ".partial"


class _Hashing:
    """A read-only stream that hashes and counts what is read through it (and nothing else, so
    boto3 treats it as non-seekable and reads it once, in order)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.digest, self.size = stream, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        block = self.stream.read(size)
        self.digest.update(block)
        self.size += len(block)
        return block


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _write_error(error: ClientError, write_id: str) -> TrackboardError:
    """What S3 says about a write in parts, as the caller's error (the bucket's own failures stay raised)."""
    code = _code(error)
    if code in ("NoSuchUpload", "NoSuchKey", "404"):
        return NotFoundError(f"no write in parts {write_id!r} (finished, aborted or removed as stale)")
    if code in ("InvalidPart", "InvalidPartOrder", "EntityTooSmall", "EntityTooLarge", "MalformedXML"):
        return TrackboardError(f"the parts were refused: {error.response['Error'].get('Message', code)}")
    raise error


@contextmanager
def _seekable(stream: BinaryIO) -> Iterator[BinaryIO]:
    """The stream itself when it can seek, else a copy of its rest in a temporary file."""
    if getattr(stream, "seekable", lambda: False)():
        yield stream
        return
    with tempfile.SpooledTemporaryFile(max_size=BLOCK) as copy:
        shutil.copyfileobj(stream, copy, BLOCK)
        yield copy


class S3BlobStore(BlobStore):
    def __init__(self, bucket: str, prefix: str = "", client=None, multipart_threshold: int = MULTIPART_THRESHOLD,
                 part_size: int = PART_SIZE) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.location = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.client = client if client is not None else boto3.client("s3")
        # At most a few parts in memory at once (boto3 would buffer ten ahead of a slow network).
        self.transfer = TransferConfig(multipart_threshold=multipart_threshold,
                                       multipart_chunksize=max(part_size, 5 * 1024 * 1024), max_concurrency=2)
        self.transfer.max_in_memory_upload_chunks = 2

    @classmethod
    def from_url(cls, url: str) -> "S3BlobStore":
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise TrackboardError(f"{url!r}: expected s3://bucket or s3://bucket/prefix")
        return cls(bucket, prefix)

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as error:
            raise TrackboardError(f"{self.location}: the bucket cannot be used ({error})") from None

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def key(self, sha256: str) -> str:
        check_digest(sha256)
        return self._key(f"{sha256[:2]}/{sha256}")

    def _head(self, sha256: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def exists(self, sha256: str) -> bool:
        try:
            return self._head(sha256) is not None
        except NotFoundError:
            return False

    def size(self, sha256: str) -> int:
        head = self._head(sha256)
        if head is None:
            raise NotFoundError(f"no blob {sha256}")
        return int(head["ContentLength"])

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        partial = self._key(f"{PARTIAL}/{uuid.uuid4().hex}")
        reader = _Hashing(stream)
        try:
            self.client.upload_fileobj(reader, self.bucket, partial, Config=self.transfer)
            self._publish(partial, reader.digest.hexdigest())
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=partial)
        return reader.digest.hexdigest(), reader.size

    def _publish(self, partial: str, sha256: str) -> None:
        # A copy inside the bucket (multipart for big objects): no byte comes back to us.
        self.client.copy({"Bucket": self.bucket, "Key": partial}, self.bucket, self.key(sha256), Config=self.transfer)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise NotFoundError(f"no blob {sha256}") from None
            raise

    def touch(self, sha256: str) -> None:
        # Copying an object onto itself (metadata replaced) gives it a new LastModified.
        key = self.key(sha256)
        try:
            self.client.copy_object(Bucket=self.bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": key},
                                    MetadataDirective="REPLACE")
        except ClientError:
            pass  # gone meanwhile: the caller writes it again

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))

    def _objects(self, prefix: str) -> Iterator[dict]:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", ())

    def iter_blobs(self) -> Iterator[BlobInfo]:
        start = self._key("")
        for item in self._objects(start):
            directory, _, name = item["Key"][len(start):].partition("/")
            if len(directory) == 2 and SHA256.fullmatch(name) and name.startswith(directory):
                yield BlobInfo(name, int(item["Size"]), item["LastModified"].timestamp())

    def remove_stale_partials(self, older_than_s: float) -> int:
        prefix, removed = self._key(f"{PARTIAL}/"), 0
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=older_than_s)
        for item in self._objects(prefix):
            if item["LastModified"] < cutoff:
                self.client.delete_object(Bucket=self.bucket, Key=item["Key"])
                removed += 1
        pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=prefix)
        for upload in (upload for page in pages for upload in page.get("Uploads", ())):
            # A multipart upload nobody finished keeps its parts (and bills them); one whose
            # last part is recent may be a slow upload still going.
            if upload["Initiated"] < cutoff and all(
                    part["LastModified"] < cutoff for part in self._parts(upload["Key"], upload["UploadId"])):
                self._abort(upload["Key"], upload["UploadId"])
                removed += 1
        return removed

    # -- writes in parts: S3 multipart uploads on a temporary key ------------------------------

    def _write(self, write_id: str) -> tuple[str, str]:
        """(key, UploadId) of a write in parts."""
        name, _, upload_id = write_id.partition(".") if isinstance(write_id, str) else ("", "", "")
        if not WRITE_ID.fullmatch(name) or not upload_id:
            raise NotFoundError(f"no write in parts {write_id!r}")
        return self._key(f"{PARTIAL}/{name}"), upload_id

    def _parts(self, key: str, upload_id: str) -> Iterator[dict]:
        pages = self.client.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=key, UploadId=upload_id)
        for page in pages:
            yield from page.get("Parts", ())

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            if _code(error) != "NoSuchUpload":
                raise

    def start_parts(self) -> str:
        name = uuid.uuid4().hex
        answer = self.client.create_multipart_upload(Bucket=self.bucket, Key=self._key(f"{PARTIAL}/{name}"))
        return f"{name}.{answer['UploadId']}"

    def put_part(self, write_id: str, number: int, stream: BinaryIO) -> PartInfo:
        check_part_number(number)
        key, upload_id = self._write(write_id)
        with _seekable(stream) as body:  # boto3 sends a part with its length (and checksum): it must know it
            start = body.tell()
            size = body.seek(0, os.SEEK_END) - start
            body.seek(start)
            try:
                answer = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                                 Body=body, ContentLength=size)
            except ClientError as error:
                raise _write_error(error, write_id) from None
        return PartInfo(number, answer["ETag"].strip('"'), size)

    def parts(self, write_id: str) -> dict[int, PartInfo]:
        key, upload_id = self._write(write_id)
        try:
            return {part["PartNumber"]: PartInfo(part["PartNumber"], part["ETag"].strip('"'), int(part["Size"]))
                    for part in self._parts(key, upload_id)}
        except ClientError as error:
            raise _write_error(error, write_id) from None

    def finish_parts(self, write_id: str, parts: list[PartInfo]) -> tuple[str, int]:
        key, upload_id = self._write(write_id)
        listed = [{"ETag": f'"{part.etag}"', "PartNumber": part.number} for part in parts]
        try:
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                  MultipartUpload={"Parts": listed})
        except ClientError as error:
            raise _write_error(error, write_id) from None
        try:
            reader = _Hashing(self.client.get_object(Bucket=self.bucket, Key=key)["Body"])
            while reader.read(BLOCK):  # read back once, a block at a time, to learn its digest
                pass
            self._publish(key, reader.digest.hexdigest())
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        return reader.digest.hexdigest(), reader.size

    def abort_parts(self, write_id: str) -> None:
        try:
            self._abort(*self._write(write_id))
        except NotFoundError:
            pass

    def presigned_url(self, sha256: str, content_type: str, filename: str | None, expires_s: int) -> str | None:
        params = {"Bucket": self.bucket, "Key": self.key(sha256), "ResponseContentType": content_type}
        if filename is not None:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'

        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
