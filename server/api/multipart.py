"""picsellia's multipart upload, for files over its 25 MiB: init, one signed URL per part, complete.

The SDK asks ``init_multipart_upload`` for an upload id, then, for each 25 MiB part,
``generate_part_presigned_url`` for a signed URL, PUTs the part's bytes there (without its token)
and keeps the answer's ``ETag``; ``complete_part_upload`` lists the ``{ETag, PartNumber}`` pairs.

The parts come through the server, like a single upload, into the blob store's write in parts
(``BlobStore.start_parts``): every check of a single upload holds (signature, expiry, the asking
token still active, the object's size cap, an object name this server made), and clients never
need to reach the bucket. No worker keeps anything in memory: the upload id is the store's write
id signed for its object name, and the store holds the parts, so any worker serves any call.
Completing joins the parts into a content-addressed blob and records it for the object name as a
single upload does. An image goes in one upload (its content is checked whole): for one, init
answers 400 and the SDK falls back to that.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from trackboard.errors import AlreadyExistsError, NotFoundError, TrackboardError
from trackboard.store.blobs import PartInfo
from trackboard.store.sql import Store

from . import queries
from .deps import StoreDep, api_router, check_connector, get_store
from .errors import MAX_BODY, MiB, ApiError, ApiRoute, responses
from .schemas import MultipartComplete, MultipartStart, ObjectRef, PartOut, PartRef, PartUrl, PartUrlIn, UploadOut
from .signing import UPLOAD_TTL_S, is_signed, sign, signed_url, verify
from .uploads import RAW_BODY, By, ObjectName, Seconds, Signature, object_cap, pending_upload, spool_body

PART_BYTES = 25 * MiB  # the SDK's part size; a part URL takes at most this
MIN_PART_BYTES = 5 * MiB  # S3's rule for every part but the last, kept whatever the store
PART_PATH = "/api/object-storage/parts"
CONNECTOR = "/api/object-storage/{connector_id}"
UNKNOWN = "no multipart upload with this upload_id for this object (completed, aborted, or removed as stale); " \
          "start again with init_multipart_upload"

router = api_router(tags=["object storage"])
public = APIRouter(route_class=ApiRoute, tags=["object storage"])
UploadId = Annotated[str, Query(max_length=1024)]


def _write_id(request: Request, store: Store, object_name: str, upload_id: str) -> str:
    """The blob store's write behind an upload id, which must have been made for this object name."""
    write_id, _, signature = upload_id.rpartition(".")
    if not write_id or not is_signed(request, store, "multipart", signature, object_name=object_name,
                                     write_id=write_id):
        raise ApiError(404, UNKNOWN)
    return write_id


def _stored_parts(store: Store, write_id: str) -> dict[int, PartInfo]:
    try:
        return store.blobs.parts(write_id)
    except NotFoundError:
        raise ApiError(404, UNKNOWN) from None


@router.post(f"{CONNECTOR}/init_multipart_upload", response_model=MultipartStart, responses=responses(404, 409))
def init_multipart_upload(connector_id: uuid.UUID, body: ObjectRef, request: Request, store: StoreDep) -> dict:
    check_connector(connector_id)
    row = pending_upload(request, store, body.object_name)
    if row["kind"] == "LOG_IMAGE":
        raise ApiError(400, "an image goes in one upload (its content is checked whole): use generate_presigned_url")
    write_id = store.blobs.start_parts()
    signature = sign(request, store, "multipart", object_name=row["object_name"], write_id=write_id)
    return {"client_type": "minio", "upload_id": f"{write_id}.{signature}"}


@router.post(f"{CONNECTOR}/generate_part_presigned_url", response_model=PartUrl, responses=responses(404, 409))
def generate_part_presigned_url(connector_id: uuid.UUID, body: PartUrlIn, request: Request, store: StoreDep) -> dict:
    check_connector(connector_id)
    row = pending_upload(request, store, body.object_name)
    _stored_parts(store, _write_id(request, store, row["object_name"], body.upload_id))  # 404 once it is gone
    url = signed_url(request, store, PART_PATH, "upload-part", UPLOAD_TTL_S, object_name=row["object_name"],
                     upload_id=body.upload_id, part_no=body.part_no, max_bytes=min(PART_BYTES, object_cap(row["kind"])))
    return {"url": url}


@public.put(
    PART_PATH, response_model=PartOut, responses=responses(400, 403, 404, 409, 413),
    openapi_extra={MAX_BODY: PART_BYTES, "requestBody": RAW_BODY},
    summary="Upload one part of a multipart upload as the request body (signed URL); answers its ETag header",
)
async def upload_part(request: Request, object_name: ObjectName, upload_id: UploadId,
                      part_no: Annotated[int, Query(ge=1, le=10_000)], expires: Seconds, max_bytes: Seconds,
                      signature: Signature, by: By = "") -> JSONResponse:
    # Everything about the URL and the upload is checked before a byte of the body is read.
    store = get_store(request)
    await verify(request, store, "upload-part", signature, object_name=object_name, upload_id=upload_id,
                 part_no=part_no, expires=expires, max_bytes=max_bytes, by=by)
    declared = int(request.headers.get("content-length") or 0)
    if declared > max_bytes:
        raise ApiError(413, f"the part has {declared} bytes; a part of this object has at most {max_bytes}")
    row = await run_in_threadpool(queries.get_upload, store, object_name)
    if row["sha256"] is not None:
        raise AlreadyExistsError("this object is already uploaded; ask generate_object_name for a new one")
    write_id = upload_id.rpartition(".")[0]  # the signature above covers the upload id
    stored = await run_in_threadpool(_stored_parts, store, write_id)
    cap = object_cap(row["kind"])
    others = sum(part.size for number, part in stored.items() if number != part_no)
    if others + declared > cap:
        raise ApiError(413, f"with this part the object would have {others + declared} bytes; it accepts at most {cap}")
    stream = await spool_body(request, max_bytes)
    try:
        part = await run_in_threadpool(store.blobs.put_part, write_id, part_no, stream)
    except NotFoundError:
        raise ApiError(404, UNKNOWN) from None
    finally:
        stream.close()
    return JSONResponse({"part_no": part.number, "etag": part.etag, "size": part.size},
                        headers={"ETag": f'"{part.etag}"'})


@router.post(f"{CONNECTOR}/complete_part_upload", response_model=UploadOut, responses=responses(404, 409))
def complete_part_upload(connector_id: uuid.UUID, body: MultipartComplete, request: Request, store: StoreDep) -> dict:
    check_connector(connector_id)
    row = pending_upload(request, store, body.object_name)
    write_id = _write_id(request, store, row["object_name"], body.upload_id)
    parts = _joined_parts(body.parts, _stored_parts(store, write_id))
    size, cap = sum(part.size for part in parts), object_cap(row["kind"])
    if size > cap:
        store.blobs.abort_parts(write_id)  # it can never complete: free its parts now
        raise ApiError(413, f"the parts hold {size} bytes; this object accepts at most {cap} (the upload is dropped)")
    try:
        sha256, size = store.blobs.finish_parts(write_id, parts)
    except NotFoundError:
        raise ApiError(404, UNKNOWN) from None
    except TrackboardError as error:
        raise ApiError(400, str(error)) from None
    if not queries.complete_upload(store, row["object_name"], sha256, size):
        raise AlreadyExistsError("this object is already uploaded; ask generate_object_name for a new one")
    return {"object_name": row["object_name"], "sha256": sha256, "size": size}


def _joined_parts(listed: list[PartRef], stored: dict[int, PartInfo]) -> list[PartInfo]:
    """The stored parts that ``listed`` names, checked: each once, ascending, uploaded, its ETag."""
    numbers = [ref.PartNumber for ref in listed]
    if numbers != sorted(set(numbers)):
        raise ApiError(400, f"list the parts in ascending PartNumber order, each once (got {numbers[:20]})")
    parts = []
    for ref in listed:
        part = stored.get(ref.PartNumber)
        if part is None:
            raise ApiError(400, f"part {ref.PartNumber} was never uploaded")
        if ref.ETag.strip('"') != part.etag:
            raise ApiError(400, f"part {ref.PartNumber}: the ETag {ref.ETag[:80]!r} is not the one its upload answered")
        parts.append(part)
    parts = [part for part in parts if part.size]  # an empty last part (a file of whole parts) adds nothing
    if not parts:
        raise ApiError(400, "the parts hold no bytes")
    for part in parts[:-1]:
        if part.size < MIN_PART_BYTES:
            raise ApiError(400, f"part {part.number} has {part.size} bytes; every part but the last needs at least "
                                f"{MIN_PART_BYTES}")
    return parts
