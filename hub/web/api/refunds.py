"""Refunds: the list (the approval queue), the two decisions a person can take, and sending a
failed Amazon refund again (``hub.amazon.refunds.ops``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hub.amazon.refunds.ops import retry_as
from hub.refunds.approvals import decide_refund
from hub.refunds.states import RefundState
from hub.returns.queries import list_refunds, refund_out
from hub.storage.engine import reading
from hub.web.api.amazon_refunds import RefundOfficer, RetryIn, RetryOut
from hub.web.api.deps import Approver, Hub, Viewer
from hub.web.api.idempotency import IDEMPOTENT
from hub.web.api.models import ApproveIn, ErrorOut, Page, RefundOut, RejectIn
from hub.web.api.ops import Limit, Offset
from hub.web.api.returns import Store

router = APIRouter(prefix="/api/refunds", tags=["refunds"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 409, 422)}


@router.get("", response_model=Page[RefundOut], responses=ERRORS)
def get_refunds(hub: Hub, who: Viewer, store: Store = None, state: RefundState | None = None,
                limit: Limit = 50, offset: Offset = 0) -> Page[RefundOut]:
    """Refunds in the caller's scope, oldest request first; ``state=pending_approval`` is the
    approval queue (``/api/desk/queue`` filters it further)."""
    with reading(hub.engine) as conn:
        rows, total = list_refunds(conn, store, state.value if state else None, limit, offset,
                                   who.scope)
    return Page[RefundOut](items=[RefundOut.model_validate(r) for r in rows], total=total,
                           limit=limit, offset=offset)


@router.post("/{refund_id}/approve", response_model=RefundOut, responses=ERRORS,
             dependencies=IDEMPOTENT)
def approve(hub: Hub, who: Approver, refund_id: str, body: ApproveIn | None = None,
            store: Store = None) -> RefundOut:
    """Approve a refund waiting for approval; the store is told at once."""
    reason = body.reason if body else None
    row = decide_refund(hub.engine, who, refund_id, store, approve=True, reason=reason)
    return RefundOut.model_validate(refund_out(row))


@router.post("/{refund_id}/reject", response_model=RefundOut, responses=ERRORS,
             dependencies=IDEMPOTENT)
def reject(hub: Hub, who: Approver, refund_id: str, body: RejectIn,
           store: Store = None) -> RefundOut:
    """Reject a refund waiting for approval (a reason is required); the store is told."""
    row = decide_refund(hub.engine, who, refund_id, store, approve=False, reason=body.reason)
    return RefundOut.model_validate(refund_out(row))


@router.post("/{refund_id}/retry", response_model=RetryOut, status_code=202, responses=ERRORS,
             dependencies=IDEMPOTENT)
def retry(hub: Hub, who: RefundOfficer, refund_id: str, body: RetryIn,
          store: Store = None) -> RetryOut:
    """Send a failed Amazon MFN refund again (finance, admin; a reason is required): queued for
    the next refunds run, which sends it in a new feed under the same refund id."""
    return RetryOut.model_validate(retry_as(hub.engine, who, refund_id, store, body.reason))
