"""Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, R2...) through boto3.

``s3://bucket/prefix`` keeps blob ``abcd...`` at ``prefix/ab/abcd...``. boto3 is configured the
standard AWS way: credentials and region from the environment or ``~/.aws``, and another service
than AWS through ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``).

A write streams the bytes to a temporary key ``prefix/.partial/<uuid>`` while hashing them
(boto3's managed transfer: multipart above ``MULTIPART_THRESHOLD``, so memory stays at a few
parts whatever the size), then copies that object to its digest's key inside the bucket and
deletes the temporary one: a blob is visible under its digest only once complete.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, Iterator

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import NotFoundError, TrackboardError
from .blobs import SHA256, BlobInfo, BlobStore, check_digest

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
            sha256 = reader.digest.hexdigest()
            # A copy inside the bucket (multipart for big objects): no byte comes back to us.
            self.client.copy({"Bucket": self.bucket, "Key": partial}, self.bucket, self.key(sha256), Config=self.transfer)
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=partial)
        return sha256, reader.size

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
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix).get("Uploads", ())
        for upload in uploads:  # a multipart upload interrupted by a crash keeps its parts (and bills them)
            if upload["Initiated"] < cutoff:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                removed += 1
        return removed

    def presigned_url(self, sha256: str, content_type: str, filename: str | None, expires_s: int) -> str | None:
        params = {"Bucket": self.bucket, "Key": self.key(sha256), "ResponseContentType": content_type}
        if filename is not None:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'

        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
