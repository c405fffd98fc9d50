"""Content-addressed files: images and artifacts stored once per distinct content."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from ..errors import NotFoundError

SHA256 = re.compile(r"[0-9a-f]{64}")


class BlobStore:
    """Blobs in ``root/ab/abcdef...`` named by the sha256 of their bytes, written atomically."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        # A digest is the only thing ever turned into a path, so no request or name reaches the disk.
        if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
            raise NotFoundError(f"no blob {sha256!r}: not a sha256 digest")
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        try:
            return self.path(sha256).is_file()
        except NotFoundError:
            return False

    def put_bytes(self, content: bytes) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        if not self.exists(sha256):
            self._write(sha256, lambda out: out.write(content))
        return sha256

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Copy a stream into the store; returns (sha256, size)."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while block := stream.read(1 << 20):
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

    def put_file(self, path: str | os.PathLike) -> tuple[str, int]:
        with open(path, "rb") as stream:
            return self.put_stream(stream)

    def read(self, sha256: str) -> bytes:
        path = self.path(sha256)
        if not path.is_file():
            raise NotFoundError(f"no blob {sha256}")
        return path.read_bytes()

    def open(self, sha256: str) -> BinaryIO:
        path = self.path(sha256)
        if not path.is_file():
            raise NotFoundError(f"no blob {sha256}")
        return open(path, "rb")

    def copy_to(self, sha256: str, target: str | os.PathLike) -> None:
        with self.open(sha256) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out)

    def _write(self, sha256: str, write) -> None:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
