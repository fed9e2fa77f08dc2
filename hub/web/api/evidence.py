"""Evidence through the API: ``/api/evidence`` — attach a document, a buyer's message or a photo to
a return (the raw file as the request body, its type in ``Content-Type``), list a return's
evidence, download one file.

Who: attaching needs the request or approve right, reading the view right, both within the
caller's scope for the return's store. Limits (settings ``EVIDENCE_MAX_BYTES``,
``EVIDENCE_TYPES``): above the size 413, a type that is not accepted or not what the bytes are
415 (checked on the content, not the name); an unknown return 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from hub.access.permissions import Action, Principal, can, require_in_scope
from hub.errors import Forbidden, NotFound
from hub.finance.evidence import media
from hub.finance.evidence import store as evidence
from hub.fleet import stores
from hub.storage.engine import reading, writing
from hub.storage.tables.core import returns
from hub.web.api.deps import Caller, Hub, Viewer
from hub.web.api.errors import error_body
from hub.web.api.models import ErrorOut

router = APIRouter(prefix="/api/evidence", tags=["evidence"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 422)
}
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"model": ErrorOut},
    413: {"model": ErrorOut},
    415: {"model": ErrorOut},
}
StoreId = Annotated[str, Query(min_length=1, max_length=40)]
ReturnId = Annotated[str, Query(min_length=1, max_length=64)]


class EvidenceOut(BaseModel):
    """One attachment (its bytes at ``/api/evidence/{evidence_id}/content``)."""

    evidence_id: str
    sha256: str
    size: int
    media_type: str
    kind: str
    source: str
    store_id: str
    return_id: str
    refund_id: str | None
    note: str
    recorded_by: str
    recorded_at: datetime
    purge_after: datetime
    purged_at: datetime | None


def _return_in_scope(hub: Hub, who: Principal, store_id: str, return_id: str) -> None:
    with reading(hub.engine) as conn:
        found = conn.scalar(
            select(returns.c.return_id).where(
                returns.c.store_id == store_id, returns.c.return_id == return_id
            )
        )
        place = stores.place(conn, store_id)
    require_in_scope(who, place)
    if found is None:
        raise NotFound(f"no return {return_id} at store {store_id}")


@router.post("", response_model=EvidenceOut, status_code=201, responses=UPLOAD_ERRORS)
async def attach(
    hub: Hub,
    who: Caller,
    request: Request,
    store: StoreId,
    return_id: ReturnId,
    kind: Literal["document", "message", "photo"] = "document",
    refund_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    note: Annotated[str, Query(max_length=evidence.NOTE_MAX)] = "",
) -> Any:
    """Attach the request body (one file) to a return; 201 with the stored attachment."""
    if not (can(who, Action.REQUEST) or can(who, Action.APPROVE)):
        raise Forbidden(f"{who.role.value} may not attach evidence")
    settings = hub.settings
    data = await request.body()
    try:
        media_type = media.check(
            data,
            request.headers.get("content-type", ""),
            settings.evidence_types,
            settings.evidence_max_bytes,
        )
    except (media.TooLarge, media.WrongType) as err:
        return JSONResponse(
            {"detail": [error_body(err.field, err.message)]}, status_code=err.status
        )
    item = evidence.Attachment(store, return_id, kind, media_type, "desk", refund_id, note)
    return await run_in_threadpool(_attach, hub, who, item, data)


def _attach(hub: Hub, who: Principal, item: evidence.Attachment, data: bytes) -> EvidenceOut:
    _return_in_scope(hub, who, item.store_id, item.return_id)
    with writing(hub.engine) as tx:
        row = evidence.record(
            tx,
            hub.settings.evidence_dir,
            item,
            data,
            who.actor,
            who.role.value,
            hub.settings.evidence_retention_days,
        )
    return EvidenceOut(**row)


@router.get("", response_model=list[EvidenceOut], responses=ERRORS)
def list_evidence(hub: Hub, who: Viewer, store: StoreId, return_id: ReturnId) -> list[EvidenceOut]:
    """A return's evidence, oldest first."""
    _return_in_scope(hub, who, store, return_id)
    with reading(hub.engine) as conn:
        return [EvidenceOut(**row) for row in evidence.for_return(conn, store, return_id)]


@router.get("/{evidence_id}/content", response_class=Response, responses=ERRORS)
def content(hub: Hub, who: Viewer, evidence_id: Annotated[str, Path(max_length=64)]) -> Response:
    """One attachment's bytes, with their checked type (404 once purged)."""
    with reading(hub.engine) as conn:
        row = evidence.find(conn, evidence_id)
        require_in_scope(who, stores.place(conn, row["store_id"]))
    data = evidence.content(hub.settings.evidence_dir, row)
    return Response(
        data,
        media_type=row["media_type"],
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="{evidence_id}"',
            "Cache-Control": "private, max-age=3600",
        },
    )
