"""Returns: list and read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub.access.permissions import require_in_scope
from hub.fleet import stores
from hub.returns.queries import list_returns, return_detail
from hub.returns.states import ReturnState
from hub.storage.engine import reading
from hub.web.api.deps import Hub, Viewer
from hub.web.api.models import ErrorOut, Page, ReturnDetailOut, ReturnOut
from hub.web.api.ops import Limit, Offset

router = APIRouter(prefix="/api/returns", tags=["returns"])
Store = Annotated[str | None, Query(max_length=40, description="only this store")]
# 422 named here too, else FastAPI publishes its own validation body, which is not what we send
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 422)}


@router.get("", response_model=Page[ReturnOut], responses=ERRORS)
def get_returns(hub: Hub, who: Viewer, store: Store = None, state: ReturnState | None = None,
                limit: Limit = 50, offset: Offset = 0) -> Page[ReturnOut]:
    """Returns in the caller's scope, newest first, optionally filtered by store and state."""
    with reading(hub.engine) as conn:
        rows, total = list_returns(conn, store, state.value if state else None, limit, offset,
                                   who.scope)
    return Page[ReturnOut](items=[ReturnOut.model_validate(r) for r in rows], total=total,
                           limit=limit, offset=offset)


@router.get("/{return_id}", response_model=ReturnDetailOut,
            responses={**ERRORS, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}})
def get_return(hub: Hub, who: Viewer, return_id: str, store: Store = None) -> ReturnDetailOut:
    """One return with items, inspections, dispositions and refunds (403 outside scope)."""
    with reading(hub.engine) as conn:
        detail = return_detail(conn, return_id, store)
        require_in_scope(who, stores.place(conn, detail["store_id"]))
        return ReturnDetailOut.model_validate(detail)
