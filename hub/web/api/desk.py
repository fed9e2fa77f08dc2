"""The approvals desk's API: the filtered queue, a refund's story, bulk approval, requests."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub.refunds import decided, queue, story
from hub.refunds.approvals import bulk_approve
from hub.refunds.requests import request_refund
from hub.returns.queries import refund_out
from hub.storage.engine import reading
from hub.web.api.deps import Approver, Hub, Requester, Viewer
from hub.web.api.desk_models import (
    BulkIn,
    DecidedItemOut,
    DecidedPage,
    DecidedQuery,
    QueueItemOut,
    QueuePage,
    RequestIn,
    StoryOut,
)
from hub.web.api.idempotency import IDEMPOTENT
from hub.web.api.models import ErrorOut, RefundOut
from hub.web.api.ops import Limit, Offset
from hub.web.api.returns import Store
from protocol import utc_now

router = APIRouter(prefix="/api", tags=["desk"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 409, 422)
}
Text = Annotated[str | None, Query(max_length=64)]
Hours = Annotated[float | None, Query(ge=0, le=24 * 3650)]


@router.get("/desk/queue", response_model=QueuePage, responses=ERRORS)
def get_queue(
    hub: Hub,
    who: Viewer,
    level: Annotated[int | None, Query(ge=1, le=9)] = None,
    store: Text = None,
    marketplace: Text = None,
    reason: Text = None,
    min_age_hours: Hours = None,
    max_age_hours: Hours = None,
    review: bool | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
    waiting_for: queue.WaitingFor = "approval",
) -> QueuePage:
    """Refunds waiting for approval in the caller's scope, oldest first, filtered and paged.

    ``reason`` is a fired rule id (``tier.finance``, ``risk.item_mismatch``…); ``marketplace``
    ``none`` selects sales without one; ages are in hours since the request;
    ``waiting_for=inspection`` lists the refunds that wait for their store's inspection."""
    wanted = queue.QueueFilter(
        level, store, marketplace, reason, min_age_hours, max_age_hours, review, limit, offset,
        waiting_for,
    )
    target = hub.settings.desk_target_hours
    with reading(hub.engine) as conn:
        rows, total = queue.page(conn, who, wanted, utc_now(), target)
    return QueuePage(
        items=[QueueItemOut.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
        target_hours=target,
    )


@router.get("/desk/decided", response_model=DecidedPage, responses=ERRORS)
def get_decided(hub: Hub, who: Viewer, search: Annotated[DecidedQuery, Query()]) -> DecidedPage:
    """Decided refunds (approved, rejected and every later state) in the caller's scope, newest
    decision first, searched and paged by the database. Searches are exact; the amount range is
    inclusive, in the decision's base currency (or, with ``currency``, the refund's own amount);
    ``decided_from``/``decided_to`` are inclusive UTC days (YYYY-MM-DD)."""
    wanted = decided.DecidedFilter(**search.model_dump())
    with reading(hub.engine) as conn:
        rows, total = decided.page(conn, who, wanted)
    return DecidedPage(items=[DecidedItemOut.model_validate(r) for r in rows], total=total,
                       limit=search.limit, offset=search.offset)


@router.get("/desk/facets", responses=ERRORS)
def get_facets(hub: Hub, who: Viewer) -> dict[str, list[Any]]:
    """Levels, stores, marketplaces and reasons (rule ids) present in the caller's queue, and
    ``store_names``: every store in the caller's scope with the words the desk shows for it
    ("Berlin Mitte (Berlin / DE-East)", the id when it has no name)."""
    with reading(hub.engine) as conn:
        return queue.facets(conn, who)


@router.get("/refunds/{refund_id}", response_model=StoryOut, responses=ERRORS)
def get_refund(hub: Hub, who: Viewer, refund_id: str, store: Store = None) -> StoryOut:
    """A refund's full story: order and return, inspection, rules fired (policy version, FX),
    the customer's other refunds, the audit history, and whether the caller may decide it."""
    with reading(hub.engine) as conn:
        told = story.story(conn, who, refund_id, store, utc_now(), hub.settings.desk_target_hours)
    return StoryOut.model_validate(told)


@router.post("/refunds/bulk-approve", response_model=list[RefundOut], responses=ERRORS,
             dependencies=IDEMPOTENT)
def approve_many(hub: Hub, who: Approver, body: BulkIn) -> list[RefundOut]:
    """Approve several refunds at once, all or none; ``expected_total`` (base currency) must be
    the selection's total, and within the caller's bulk limit."""
    keys = [(k.store_id, k.refund_id) for k in body.refunds]
    rows = bulk_approve(
        hub.engine, who, keys, body.expected_total, body.reason, hub.settings.desk_bulk_limit
    )
    return [RefundOut.model_validate(refund_out(r)) for r in rows]


@router.post(
    "/returns/{return_id}/refund",
    response_model=RefundOut,
    status_code=201,
    responses=ERRORS,
    tags=["refunds"],
    dependencies=IDEMPOTENT,
)
def request_one(
    hub: Hub, who: Requester, return_id: str, store: Store = None, body: RequestIn | None = None
) -> RefundOut:
    """Request a refund of a return (default: its items total); the policy decides at once."""
    row = request_refund(hub.engine, who, return_id, store, body.amount if body else None)
    return RefundOut.model_validate(row)
