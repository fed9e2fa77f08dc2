"""``GET /api/buyer-returns``: the returns buyers booked online and where each stands (expected,
received — at the chosen store or elsewhere — or overdue), for the desk. Anyone who may view
reads them; a caller with a limited scope sees the returns booked to, or received at, a store
in it (``hub.returns.buyer.follow``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from hub.fleet import stores as store_attrs
from hub.returns.buyer.follow import listing
from hub.storage.engine import reading
from hub.web.api.deps import Hub, Viewer
from hub.web.api.models import ErrorOut
from protocol import utc_now

router = APIRouter(prefix="/api/buyer-returns", tags=["buyer"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 422)
}


class BuyerReturnOut(BaseModel):
    """A return a buyer booked online, and where it stands."""

    code: str
    account: str
    order_id: str
    marketplace_id: str
    store_id: str
    items: list[dict[str, Any]]
    booked_at: datetime
    expected_by: datetime
    status: str
    received_store: str | None
    return_id: str | None
    received_at: datetime | None
    elsewhere: bool


@router.get("", response_model=list[BuyerReturnOut], responses=ERRORS)
def list_buyer_returns(hub: Hub, who: Viewer, status: Annotated[str | None, Query(
        pattern="^(expected|received|overdue)$")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[BuyerReturnOut]:
    """Booked returns, newest first (only one status when asked)."""
    with reading(hub.engine) as conn:
        places: dict[str, Any] = {}

        def visible(store: str) -> bool:
            if who.scope.unlimited:
                return True
            if store not in places:
                places[store] = store_attrs.place(conn, store)
            return who.scope.covers(places[store])

        rows = listing(conn, utc_now(), visible, status, limit)
    return [BuyerReturnOut(**r) for r in rows]
