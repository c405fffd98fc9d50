"""Content-addressed files: images and artifacts stored once per distinct content.

``BlobStore`` is the interface the store and the server use; ``LocalBlobStore`` keeps blobs in a
directory, ``S3BlobStore`` (``s3.py``) in S3-compatible object storage. ``open_blob_store`` picks
one from a location: a path, or ``s3://bucket/prefix``. Writes stream (a blob is never held whole
in memory) and are atomic: a blob is visible under its digest only once all its bytes are there.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import BinaryIO, Iterator, NamedTuple

from ..errors import NotFoundError, TrackboardError

SHA256 = re.compile(r"[0-9a-f]{64}")
BLOCK = 1 << 20


class BlobInfo(NamedTuple):
    sha256: str
    size: int
    modified: float  # epoch seconds of the last write (gc keeps young blobs)


def check_digest(sha256: str) -> str:
    # A digest is the only thing ever turned into a path or key, so no request or name reaches storage.
    if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
        raise NotFoundError(f"no blob {sha256!r}: not a sha256 digest")
    return sha256


class BlobStore(ABC):
    """Blobs named by the sha256 of their bytes."""

    location: str

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def size(self, sha256: str) -> int:
        """The blob's size in bytes (NotFoundError if missing)."""

    @abstractmethod
    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Copy a stream into the store; returns (sha256, size)."""

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """A binary stream of the blob (NotFoundError if missing)."""

    @abstractmethod
    def touch(self, sha256: str) -> None:
        """Mark an existing blob as just written (a new reference is coming: gc must wait)."""

    @abstractmethod
    def delete(self, sha256: str) -> None: ...

    @abstractmethod
    def iter_blobs(self) -> Iterator[BlobInfo]: ...

    @abstractmethod
    def remove_stale_partials(self, older_than_s: float) -> int:
        """Remove what interrupted writes left behind; returns how many."""

    def local_path(self, sha256: str) -> Path | None:
        """The blob's file when it is on this machine's disk (servers send it with sendfile)."""
        return None

    def check(self) -> None:
        """Raise TrackboardError naming the problem if the storage cannot be used (a server checks on start)."""

    def presigned_url(self, sha256: str, content_type: str, filename: str | None, expires_s: int) -> str | None:
        """A URL the storage itself serves the blob from (as an attachment named ``filename`` when
        given), when it can (S3); else None."""
        return None

    def put_bytes(self, content: bytes) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        if self.exists(sha256):
            self.touch(sha256)
            return sha256
        return self.put_stream(io.BytesIO(content))[0]

    def put_file(self, path: str | os.PathLike) -> tuple[str, int]:
        with open(path, "rb") as stream:
            return self.put_stream(stream)

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as stream:
            return stream.read()

    def copy_to(self, sha256: str, target: str | os.PathLike) -> None:
        with self.open(sha256) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out, BLOCK)


class LocalBlobStore(BlobStore):
    """Blobs in ``root/ab/abcdef...``, written to a temporary file then renamed."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def path(self, sha256: str) -> Path:
        check_digest(sha256)
        return self.root / sha256[:2] / sha256

    def local_path(self, sha256: str) -> Path | None:
        return self.path(sha256)

    def exists(self, sha256: str) -> bool:
        try:
            return self.path(sha256).is_file()
        except NotFoundError:
            return False

    def size(self, sha256: str) -> int:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            raise NotFoundError(f"no blob {sha256}") from None

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while block := stream.read(BLOCK):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
            sha256 = digest.hexdigest()
            target = self.path(sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha256, size

    def open(self, sha256: str) -> BinaryIO:
        try:
            return open(self.path(sha256), "rb")
        except FileNotFoundError:
            raise NotFoundError(f"no blob {sha256}") from None

    def touch(self, sha256: str) -> None:
        try:
            os.utime(self.path(sha256))
        except FileNotFoundError:
            pass

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def iter_blobs(self) -> Iterator[BlobInfo]:
        if not self.root.is_dir():
            return
        for directory in sorted(self.root.iterdir()):
            if not directory.is_dir() or len(directory.name) != 2:
                continue
            for path in directory.iterdir():
                if SHA256.fullmatch(path.name) and path.name.startswith(directory.name):
                    try:
                        stat = path.stat()
                    except FileNotFoundError:  # deleted meanwhile
                        continue
                    yield BlobInfo(path.name, stat.st_size, stat.st_mtime)

    def remove_stale_partials(self, older_than_s: float) -> int:
        if not self.root.is_dir():
            return 0
        removed, cutoff = 0, time.time() - older_than_s
        for pattern in (".upload-*", "*/.tmp-*"):
            for path in self.root.glob(pattern):
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    pass
        return removed


def open_blob_store(location: str | os.PathLike) -> BlobStore:
    """``s3://bucket/prefix`` -> S3BlobStore; anything else is a directory."""
    text = os.fspath(location)
    if text.startswith("s3://"):
        try:
            from .s3 import S3BlobStore
        except ModuleNotFoundError as error:
            if error.name not in ("boto3", "botocore"):
                raise
            raise TrackboardError(f"{text}: S3 blobs need boto3: pip install 'trackboard[s3]'") from None
        return S3BlobStore.from_url(text)
    return LocalBlobStore(text)
