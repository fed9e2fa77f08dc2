"""Orders picked at the stores: ``/api/shipments/due`` (packages near their ship-by and not
shipped: the desk's alert list) and ``/api/shipments`` (shipped packages and where their
confirmation to Amazon stands).

Anyone who may view reads them; a caller with a limited scope sees only the stores in it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from hub.amazon.shipments import due_soon
from hub.fleet import stores as store_attrs
from hub.storage.engine import reading
from hub.storage.tables.picking import package_shipments
from hub.web.api.deps import Hub, Viewer
from hub.web.api.models import ErrorOut
from protocol import utc_now

router = APIRouter(prefix="/api/shipments", tags=["order routing"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 422)
}


class DueOut(BaseModel):
    """A package a store has not shipped yet, near (or past) its ship-by time."""

    package_id: str
    account: str
    order_id: str
    store_id: str
    ship_by: datetime
    overdue: bool


class ShipmentOut(BaseModel):
    """A package a store shipped, and its confirmation to Amazon."""

    package_id: str
    order_id: str
    store_id: str
    carrier: str
    tracking_number: str
    shipped_at: datetime
    confirm_state: str
    attempts: int
    last_error: str | None


def _visible(conn: Any, who: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if who.scope.unlimited:
        return rows
    places = store_attrs.places(conn, {r["store_id"] for r in rows})
    return [r for r in rows if who.scope.covers(places[r["store_id"]])]


@router.get("/due", response_model=list[DueOut], responses=ERRORS)
def list_due(hub: Hub, who: Viewer,
             hours: Annotated[int, Query(ge=1, le=168)] = 24) -> list[DueOut]:
    """Packages not shipped yet whose ship-by is within ``hours`` (or past), soonest first."""
    with reading(hub.engine) as conn:
        rows = _visible(conn, who, due_soon(conn, utc_now(), timedelta(hours=hours)))
    return [DueOut(**r) for r in rows]


@router.get("", response_model=list[ShipmentOut], responses=ERRORS)
def list_shipments(hub: Hub, who: Viewer, state: Annotated[str | None, Query(
        pattern="^(pending|sending|confirmed|failed|held)$")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[ShipmentOut]:
    """Shipped packages, newest first (only one confirmation state when asked; ``held``: the
    order was shipped twice, a person decides)."""
    s = package_shipments.c
    query = select(package_shipments).order_by(s.recorded_at.desc()).limit(limit)
    if state:
        query = query.where(s.confirm_state == state)
    with reading(hub.engine) as conn:
        rows = _visible(conn, who, [dict(r._mapping) for r in conn.execute(query)])
    return [ShipmentOut(**r) for r in rows]
