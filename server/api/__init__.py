"""REST API: the picsellia SDK's experiment-tracking routes plus trackboard's batched appends.

Every route needs ``Authorization: Bearer <token>`` except the health check and the signed
upload/download URLs (which carry their own expiring signature). Modules are split by resource:

* ``service``     health, ping, organization (what ``picsellia.Client`` asks on start)
* ``projects``    projects            ``experiments``  experiments
* ``logs``        logs, picsellia style (JSON data)
* ``uploads``     object names and signed upload/download URLs; ``artifacts`` names stored files
* ``multipart``   the SDK's multipart upload of large files (a signed URL per part)
* ``batches``     trackboard's idempotent batch route; ``wire_logs`` its exact reads
* ``runs``        run queries, run summaries and tags
* ``storage``     points and blob bytes per project and experiment
* ``lifecycle``   trackboard's run lifecycle: heartbeats, rewind
"""

from fastapi import APIRouter

from . import (artifacts, batches, experiments, logs, lifecycle, multipart, projects, runs, service, storage, uploads,
               wire_logs)

router = APIRouter()
for _module in (service, projects, experiments, logs, uploads, multipart, artifacts, batches, wire_logs, runs, storage,
                lifecycle):
    router.include_router(_module.router)
router.include_router(service.public)
router.include_router(uploads.public)
router.include_router(multipart.public)

__all__ = ["router"]
