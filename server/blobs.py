"""Sending a blob to a client: from this machine's disk, or a redirect to object storage.

A local blob goes out as a file (sendfile, Content-Length, ranges); with S3 the client is sent to
a short-lived presigned URL on the bucket, so the bytes never pass through the server. Where the
bucket cannot be reached by clients (``TRACKBOARD_S3_PROXY=1``), the server streams them instead.
"""

from __future__ import annotations

import os

from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from trackboard.errors import NotFoundError
from trackboard.store.blobs import BLOCK
from trackboard.store.sql import Store

PRESIGNED_TTL_S = 300


def blob_response(store: Store, sha256: str, media_type: str, filename: str | None, headers: dict[str, str]) -> Response:
    """The blob's bytes as ``media_type`` (an attachment named ``filename`` when given); 404 if missing."""
    path = store.blobs.local_path(sha256)  # only a validated digest becomes a path or key
    if path is not None:
        if not path.is_file():
            raise NotFoundError("the stored file is missing")
        return FileResponse(path, media_type=media_type, headers=headers, filename=filename)
    if not store.blobs.exists(sha256):
        raise NotFoundError("the stored file is missing")
    if os.environ.get("TRACKBOARD_S3_PROXY") != "1":
        url = store.blobs.presigned_url(sha256, media_type, filename, PRESIGNED_TTL_S)
        if url is not None:
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    stream = store.blobs.open(sha256)

    def chunks():
        with stream:
            while block := stream.read(BLOCK):
                yield block

    headers = {**headers, "Content-Length": str(store.blobs.size(sha256))}
    if filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(chunks(), media_type=media_type, headers=headers)
