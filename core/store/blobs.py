"""Content-addressed files: images and artifacts stored once per distinct content.

``BlobStore`` is the interface the store and the server use; ``LocalBlobStore`` keeps blobs in a
directory, ``S3BlobStore`` (``s3.py``) in S3-compatible object storage. ``open_blob_store`` picks
one from a location: a path, or ``s3://bucket/prefix``. Writes stream (a blob is never held whole
in memory) and are atomic: a blob is visible under its digest only once all its bytes are there.

A blob can also be written in parts that arrive separately, in any order and in any process
(the picsellia SDK's multipart upload): ``start_parts`` -> ``put_part``... -> ``finish_parts``.
The store itself holds the parts until they are joined (nothing is kept in memory), and
``remove_stale_partials`` removes those of a write nobody finished.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tempfile
import time
import uuid
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


class PartInfo(NamedTuple):
    """One stored part of a write in parts."""

    number: int  # 1..MAX_PARTS; parts are joined in this order
    etag: str  # what identifies the part's bytes (S3's ETag, unquoted; the MD5 of the bytes here)
    size: int


MAX_PARTS = 10_000  # S3's limit, kept by every store so a write in parts behaves the same everywhere
PARTS = ".parts"  # LocalBlobStore: root/.parts/<write id>/<number>.<md5>
WRITE_ID = re.compile(r"[0-9a-f]{32}")


def check_part_number(number: int) -> int:
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= MAX_PARTS:
        raise TrackboardError(f"a part number is 1 to {MAX_PARTS}, not {number!r}")
    return number


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

    @abstractmethod
    def start_parts(self) -> str:
        """Begin a write in parts; returns its id (printable ASCII, to be given back to the calls below)."""

    @abstractmethod
    def put_part(self, write_id: str, number: int, stream: BinaryIO) -> PartInfo:
        """Store part ``number`` of the write (a part sent again replaces the earlier one).

        NotFoundError when the write is unknown: finished, aborted or removed as stale.
        """

    @abstractmethod
    def parts(self, write_id: str) -> dict[int, PartInfo]:
        """The parts stored so far, by number (NotFoundError when the write is unknown)."""

    @abstractmethod
    def finish_parts(self, write_id: str, parts: list[PartInfo]) -> tuple[str, int]:
        """Join ``parts`` (as ``parts()`` gave them, in ascending order) into one blob, streamed;
        returns (sha256, size). The write and its parts are gone afterwards."""

    @abstractmethod
    def abort_parts(self, write_id: str) -> None:
        """Drop the write and its parts (nothing if it is unknown)."""

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


def copy_hashing(stream: BinaryIO, out: BinaryIO, digest) -> int:
    """Copy ``stream`` to ``out`` a block at a time, feeding ``digest``; the bytes copied."""
    size = 0
    while block := stream.read(BLOCK):
        digest.update(block)
        size += len(block)
        out.write(block)
    return size


class LocalBlobStore(BlobStore):
    """Blobs in ``root/ab/abcdef...``, written to a temporary file then renamed.

    A write in parts is a directory ``root/.parts/<id>/`` holding one file per part, named
    ``<number>.<md5>``; finishing streams them, in order, into ``put_stream``.
    """

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
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                size = copy_hashing(stream, out, digest)
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
        for write in self.root.glob(f"{PARTS}/*"):
            try:  # stale once nothing in it was written for a while (a slow upload is still going)
                newest = max([write.stat().st_mtime, *(path.stat().st_mtime for path in write.iterdir())])
            except FileNotFoundError:  # finished meanwhile
                continue
            if newest < cutoff:
                shutil.rmtree(write, ignore_errors=True)
                removed += 1
        return removed

    # -- writes in parts ---------------------------------------------------------------------

    def _write_dir(self, write_id: str) -> Path:
        # Only an id of our own making becomes a path.
        if not isinstance(write_id, str) or not WRITE_ID.fullmatch(write_id):
            raise NotFoundError(f"no write in parts {write_id!r}")
        directory = self.root / PARTS / write_id
        if not directory.is_dir():
            raise NotFoundError(f"no write in parts {write_id!r} (finished, aborted or removed as stale)")
        return directory

    def start_parts(self) -> str:
        write_id = uuid.uuid4().hex
        (self.root / PARTS / write_id).mkdir(parents=True)
        return write_id

    def put_part(self, write_id: str, number: int, stream: BinaryIO) -> PartInfo:
        check_part_number(number)
        directory = self._write_dir(write_id)
        digest = hashlib.md5(usedforsecurity=False)
        try:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        except FileNotFoundError:  # finished or removed meanwhile
            raise NotFoundError(f"no write in parts {write_id!r} (finished, aborted or removed as stale)") from None
        try:
            with os.fdopen(fd, "wb") as out:
                size = copy_hashing(stream, out, digest)
            etag = digest.hexdigest()
            os.replace(tmp, directory / f"{number}.{etag}")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for earlier in directory.glob(f"{number}.*"):  # a part sent again replaces the earlier one
            if earlier.name != f"{number}.{etag}":
                earlier.unlink(missing_ok=True)
        return PartInfo(number, etag, size)

    def parts(self, write_id: str) -> dict[int, PartInfo]:
        found = {}
        directory = self._write_dir(write_id)
        try:
            paths = list(directory.iterdir())
        except FileNotFoundError:  # finished or removed meanwhile
            raise NotFoundError(f"no write in parts {write_id!r} (finished, aborted or removed as stale)") from None
        for path in paths:
            number, _, etag = path.name.partition(".")
            if number.isdigit() and etag:
                try:
                    found[int(number)] = PartInfo(int(number), etag, path.stat().st_size)
                except FileNotFoundError:  # replaced meanwhile
                    pass
        return found

    def finish_parts(self, write_id: str, parts: list[PartInfo]) -> tuple[str, int]:
        directory = self._write_dir(write_id)
        paths = [directory / f"{part.number}.{part.etag}" for part in parts]
        try:
            with _Joined(paths) as joined:
                result = self.put_stream(joined)
        except FileNotFoundError as error:
            raise NotFoundError(f"a part of the write in parts {write_id!r} is gone ({error.filename})") from None
        shutil.rmtree(directory, ignore_errors=True)
        return result

    def abort_parts(self, write_id: str) -> None:
        try:
            shutil.rmtree(self._write_dir(write_id), ignore_errors=True)
        except NotFoundError:
            pass


class _Joined(io.RawIOBase):
    """The files' bytes one after the other, read in blocks (one file open at a time)."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths, self.current = list(reversed(paths)), None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while True:
            if self.current is None:
                if not self.paths:
                    return b""
                self.current = open(self.paths.pop(), "rb")
            block = self.current.read(size if size >= 0 else BLOCK)
            if block:
                return block
            self.current.close()
            self.current = None

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None
        super().close()


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
