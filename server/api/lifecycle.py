"""trackboard's run lifecycle routes: the client's heartbeat, and rewinding a resumed run."""

from __future__ import annotations

import uuid

from fastapi import Request, Response

from ..scope import visible_experiment
from .deps import StoreDep, api_router
from .errors import responses
from .schemas import HeartbeatIn, RewindIn, RewindOut

router = api_router(tags=["trackboard"])


@router.post("/api/trackboard/heartbeat", status_code=204, response_class=Response, responses=responses(400))
def heartbeat(body: HeartbeatIn, request: Request, store: StoreDep) -> Response:
    """Record that process ``pid`` on ``hostname`` still runs the experiments ``ids``; ids of
    experiments the token may not see are ignored, as unknown ids are."""
    ids = [str(uuid.UUID(i)) for i in body.ids if _is_uuid(i)]
    store.beat([i for i in ids if visible_experiment(request, store, i)], body.pid, body.hostname, body.interval)
    return Response(status_code=204)


@router.post("/api/trackboard/experiments/{experiment_id}/rewind", response_model=RewindOut,
             responses=responses(400, 404))
def rewind(experiment_id: uuid.UUID, body: RewindIn, store: StoreDep) -> dict:
    """Drop the experiment's LINE points after ``step`` (``experiment.rewind``), in one transaction."""
    return {"dropped": store.rewind(str(experiment_id), body.step)}


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
