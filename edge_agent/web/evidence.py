"""The counter's photos through the local API (``edge_agent.returns.evidence``)::

    POST /api/returns/{id}/photos?evidence_id=…   the photo itself as the body, its type in
                                                  Content-Type                       -> 201
    GET  /api/returns/{id}/photos                  the photos kept for a return, oldest first
    GET  /api/photos/{sha256}                      one photo's bytes

Errors as everywhere on this API; a photo above the size one message carries is 413, a file
that is not a JPEG, PNG or WebP photo (by its content) or not the type declared 415.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from edge_agent.errors import NotFound
from edge_agent.returns import evidence
from edge_agent.web.api import ERRORS, AgentDep
from edge_agent.web.auth import GUARD, CallerDep

router = APIRouter()
PHOTO_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 415: ERRORS[422]}
EvidenceId = Annotated[
    str,
    Query(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the page's own id of this photo (repeat-safe)",
    ),
]
ReturnId = Annotated[str, Path(min_length=1, max_length=64)]


def _folder(agent: Any) -> Any:
    return agent.counter.store.path.parent / "evidence"


@router.post(
    "/api/returns/{return_id}/photos",
    response_model=evidence.PhotoView,
    status_code=201,
    tags=["returns"],
    responses=PHOTO_ERRORS,
    dependencies=GUARD,
)
async def add_photo(
    return_id: ReturnId,
    evidence_id: EvidenceId,
    request: Request,
    agent: AgentDep,
    caller: CallerDep,
) -> Response:
    """Keep a photo of the return at this node and queue it for the hub."""
    data = await request.body()
    view = await run_in_threadpool(
        evidence.record_photo,
        agent.counter,
        _folder(agent),
        return_id,
        evidence_id,
        data,
        request.headers.get("content-type", ""),
        caller.staff_id,
    )
    return Response(view.model_dump_json(), status_code=201, media_type="application/json")


@router.get(
    "/api/returns/{return_id}/photos",
    response_model=list[evidence.PhotoView],
    tags=["returns"],
    responses=ERRORS,
    dependencies=GUARD,
)
def list_photos(return_id: ReturnId, agent: AgentDep) -> list[evidence.PhotoView]:
    """The photos kept for a return, oldest first."""
    with agent.counter.store.read() as tx:
        return evidence.photos_of(tx, return_id)


@router.get(
    "/api/photos/{sha256}",
    response_class=Response,
    tags=["returns"],
    responses=ERRORS,
    dependencies=GUARD,
)
def photo(sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")], agent: AgentDep) -> Response:
    """One photo's bytes."""
    with agent.counter.store.read() as tx:
        row = tx.one("SELECT media_type FROM evidence WHERE sha256 = ? LIMIT 1", (sha256,))
    path = _folder(agent) / sha256[:2] / sha256
    if row is None or not path.exists():
        raise NotFound("no such photo at this node", field="sha256")
    return Response(
        path.read_bytes(),
        media_type=row["media_type"],
        headers={"X-Content-Type-Options": "nosniff"},
    )
