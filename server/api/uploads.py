"""picsellia's object-storage flow: object names, signed upload and download URLs, the bytes.

The SDK asks ``generate_object_name`` for a name, ``generate_presigned_url`` for where to send the
bytes (answering ``client_type: minio`` makes it POST a multipart form there, without its token),
and later names the object in an IMAGE log or an artifact. Files over 25 MiB go up in parts
instead (``multipart.py``), into the same blob store and ``uploads`` row.

Bytes land in the content-addressed blob store; the ``uploads`` table maps the name to the digest.
Object names are made here from a UUID and a cleaned file name; no request ever names a path.
An upload URL works once (a second upload answers 409 before its body is read). The name
``blob/<sha256>`` that artifact answers carry resolves only to an artifact of the experiment
asking (or, for a download URL, of a project the token may see): a digest alone attaches nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from starlette.datastructures import UploadFile

from trackboard.errors import AlreadyExistsError, NotFoundError
from trackboard.server.scope import check_experiment
from trackboard.normalise.image import MAX_IMAGE_BYTES, image_payload
from trackboard.store.sql import Store
from trackboard.wire import safe_filename

from ..blobs import blob_response as send_blob
from . import queries
from .deps import StoreDep, api_router, check_connector, check_organization, get_store
from .errors import MAX_BODY, ROLE, MiB, ApiError, ApiRoute, responses
from .schemas import ObjectNameIn, ObjectNameOut, ObjectRef, PresignedDownload, PresignedUpload, UploadOut
from .signing import DOWNLOAD_TTL_S, UPLOAD_TTL_S, signed_url, verify

MAX_UPLOAD_BYTES = int(os.environ.get("TRACKBOARD_MAX_UPLOAD_BYTES", 2 * 1024 * MiB))
MULTIPART_SLACK = 64 * 1024  # form boundaries and fields around the file
UPLOAD_PATH = "/api/object-storage/objects"
DOWNLOAD_PATH = "/api/object-storage/download"
BLOB_OBJECT = re.compile(r"blob/([0-9a-f]{64})")  # the object name of a stored blob (artifacts)

router = api_router(tags=["object storage"])
public = APIRouter(route_class=ApiRoute, tags=["object storage"])


def object_cap(kind: str) -> int:
    """The most bytes an object of this kind may have (an image is capped like IMAGE logs)."""
    return min(MAX_IMAGE_BYTES, MAX_UPLOAD_BYTES) if kind == "LOG_IMAGE" else MAX_UPLOAD_BYTES


def download_url(request: Request, store: Store, sha256: str, filename: str) -> str:
    """A signed, expiring URL that serves the blob ``sha256`` as ``filename``."""
    return signed_url(request, store, DOWNLOAD_PATH, "download", DOWNLOAD_TTL_S,
                      sha256=sha256, filename=safe_filename(filename))


def blob_object_name(sha256: str) -> str:
    return f"blob/{sha256}"


def resolve_object(store: Store, object_name: str, experiment_id: str | None = None,
                   request: Request | None = None) -> tuple[str, int, str]:
    """(sha256, size, filename) of an uploaded object (404 if unknown, 400 if not uploaded yet).

    ``blob/<sha256>`` names an artifact's content: of ``experiment_id`` when given, else of an
    experiment the ``request``'s token may see.
    """
    match = BLOB_OBJECT.fullmatch(object_name)
    if match:
        sha256 = match.group(1)
        for row in queries.artifacts_with_blob(store, sha256):
            if experiment_id is not None and row["experiment_id"] != experiment_id:
                continue
            if experiment_id is None and request is not None:
                try:
                    check_experiment(request, store, row["experiment_id"])
                except NotFoundError:
                    continue
            if store.blobs.exists(sha256):
                return sha256, int(row["size"]), row["filename"]
        raise NotFoundError("no stored object of that name in this experiment")
    row = queries.get_upload(store, object_name)
    if experiment_id is not None and row["experiment_id"] not in (None, experiment_id):
        raise NotFoundError("no object of that name in this experiment")
    if row["sha256"] is None:
        raise ApiError(400, "the object has not been uploaded yet")
    if not store.blobs.exists(row["sha256"]):
        raise NotFoundError("the object was deleted")
    return row["sha256"], int(row["size"]), row["filename"]


# -- token-protected: names and URLs ----------------------------------------------------------


@router.post(
    "/api/organization/{organization_id}/connector/{connector_id}/generate_object_name",
    response_model=ObjectNameOut, responses=responses(400, 404),
)
def generate_object_name(
    organization_id: uuid.UUID, connector_id: uuid.UUID, body: ObjectNameIn, request: Request, store: StoreDep,
) -> dict:
    check_organization(organization_id)
    check_connector(connector_id)
    experiment_id = (body.context or {}).get("experiment_id")
    if experiment_id is not None:
        try:
            experiment_id = str(uuid.UUID(str(experiment_id)))
        except ValueError:
            raise ApiError(400, "context.experiment_id must be an experiment's UUID") from None
        store.get_experiment_by_id(experiment_id)  # 404 if there is none
        check_experiment(request, store, experiment_id)
    filename = safe_filename(body.filename)
    object_name = f"{experiment_id or 'shared'}/{body.type.lower()}/{uuid.uuid4().hex}/{filename}"
    queries.create_upload(store, object_name, experiment_id, body.type, filename)
    return {"object_name": object_name}


def pending_upload(request: Request, store: Store, object_name: str) -> dict:
    """The upload row of an object name this server made, visible to the token, not uploaded yet
    (404, or 409 once its bytes came)."""
    row = queries.get_upload(store, object_name)
    if row["experiment_id"] is not None:
        check_experiment(request, store, row["experiment_id"])
    if row["sha256"] is not None:
        raise AlreadyExistsError("this object is already uploaded; ask generate_object_name for a new one")
    return row


@router.post("/api/object-storage/{connector_id}/generate_presigned_url", response_model=PresignedUpload,
             responses=responses(404, 409))
def generate_presigned_url(connector_id: uuid.UUID, body: ObjectRef, request: Request, store: StoreDep) -> dict:
    check_connector(connector_id)
    row = pending_upload(request, store, body.object_name)
    url = signed_url(request, store, UPLOAD_PATH, "upload", UPLOAD_TTL_S,
                     object_name=row["object_name"], max_bytes=object_cap(row["kind"]))
    return {"client_type": "minio", "presigned_url_data": {"url": url, "fields": {"key": row["object_name"]}}}


@router.post("/api/object-storage/{connector_id}/retrieve_presigned_url", response_model=PresignedDownload,
             responses=responses(400, 404), openapi_extra={ROLE: "read"})  # a POST that reads
def retrieve_presigned_url(connector_id: uuid.UUID, body: ObjectRef, request: Request, store: StoreDep) -> dict:
    check_connector(connector_id)
    if not BLOB_OBJECT.fullmatch(body.object_name):
        row = queries.get_upload(store, body.object_name)
        if row["experiment_id"] is not None:
            check_experiment(request, store, row["experiment_id"])
    sha256, _size, filename = resolve_object(store, body.object_name, request=request)
    return {"presigned_url": download_url(request, store, sha256, filename)}


# -- signed: the bytes themselves ---------------------------------------------------------------


_FORM_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"}},
    "additionalProperties": {"type": "string"}}}}}
RAW_BODY = {"required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
ObjectName = Annotated[str, Query(max_length=512)]
Seconds = Annotated[int, Query(ge=0, le=2**62)]
Signature = Annotated[str, Query(max_length=128)]
By = Annotated[str, Query(max_length=128, description="the token that asked for the URL")]


@public.post(
    UPLOAD_PATH, response_model=UploadOut, responses=responses(400, 403, 404, 409, 413),
    openapi_extra={MAX_BODY: MAX_UPLOAD_BYTES + MULTIPART_SLACK, "requestBody": _FORM_BODY},
    summary="Upload an object's bytes as the multipart form field 'file' (signed URL; the SDK's way)",
)
async def upload_object_form(request: Request, object_name: ObjectName, expires: Seconds, max_bytes: Seconds,
                             signature: Signature, by: By = "") -> dict:
    return await _upload(request, object_name, expires, max_bytes, signature, by)


@public.put(
    UPLOAD_PATH, response_model=UploadOut, responses=responses(400, 403, 404, 409, 413),
    openapi_extra={MAX_BODY: MAX_UPLOAD_BYTES, "requestBody": RAW_BODY},
    summary="Upload an object's bytes as the request body (signed URL)",
)
async def upload_object_raw(request: Request, object_name: ObjectName, expires: Seconds, max_bytes: Seconds,
                            signature: Signature, by: By = "") -> dict:
    return await _upload(request, object_name, expires, max_bytes, signature, by)


async def _upload(request: Request, object_name: str, expires: int, max_bytes: int, signature: str, by: str) -> dict:
    # Everything about the URL is checked before a byte of the body is read.
    store = get_store(request)
    await verify(request, store, "upload", signature, object_name=object_name, expires=expires, max_bytes=max_bytes,
                 by=by)
    declared = request.headers.get("content-length")
    if declared is not None and int(declared) > max_bytes + MULTIPART_SLACK:
        raise ApiError(413, f"the upload has {declared} bytes; this object accepts at most {max_bytes}")
    row = await run_in_threadpool(queries.get_upload, store, object_name)
    if row["sha256"] is not None:
        raise AlreadyExistsError("this upload URL was already used; ask for a new object name to upload again")
    if request.method == "PUT":
        stream = await spool_body(request, max_bytes)
    else:
        form = await request.form(max_files=1, max_fields=32)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(400, "the multipart form has no file field named 'file'")
        if upload.size is not None and upload.size > max_bytes:
            raise ApiError(413, f"the file has {upload.size} bytes; this object accepts at most {max_bytes}")
        stream = upload.file
    try:
        sha256, size = await run_in_threadpool(_store_bytes, store, row, stream)
    finally:
        stream.close()
    return {"object_name": object_name, "sha256": sha256, "size": size}


async def spool_body(request: Request, limit: int) -> BinaryIO:
    # Spool the body to a temporary file (not memory), counting against the object's cap.
    spooled = tempfile.SpooledTemporaryFile(max_size=MiB)
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            spooled.close()
            raise ApiError(413, f"the upload is over {limit} bytes, the most this object accepts")
        spooled.write(chunk)
    spooled.seek(0)
    return spooled


def _store_bytes(store: Store, row: dict, stream: BinaryIO) -> tuple[str, int]:
    stream.seek(0)
    if row["kind"] == "LOG_IMAGE":
        content = stream.read(MAX_IMAGE_BYTES + 1)
        image_payload(content, row["filename"])  # an image by its bytes, or 400 before anything is stored
        sha256, size = store.blobs.put_bytes(content), len(content)
    else:
        sha256, size = store.blobs.put_stream(stream)
    if not queries.complete_upload(store, row["object_name"], sha256, size):
        raise AlreadyExistsError("this upload URL was already used; ask for a new object name to upload again")
    return sha256, size


@public.get(
    DOWNLOAD_PATH, response_class=FileResponse, responses={200: {"content": {"application/octet-stream": {}}},
                                                            **responses(403, 404)},
    summary="Download a stored object (signed URL)",
)
async def download_object(
    request: Request,
    sha256: Annotated[str, Query(max_length=64)],
    filename: Annotated[str, Query(max_length=256)],
    expires: Seconds,
    signature: Signature,
    by: By = "",
) -> Response:
    store = get_store(request)
    await verify(request, store, "download", signature, sha256=sha256, filename=filename, expires=expires, by=by)
    return blob_response(store, sha256, filename)


def blob_response(store: Store, sha256: str, filename: str) -> Response:
    """The blob's bytes, as a download that a browser never renders."""
    return send_blob(store, sha256, "application/octet-stream", safe_filename(filename),
                     {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"})
