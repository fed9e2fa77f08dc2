"""Orders picked at the stores: ``/api/shipments/due`` (packages near their ship-by and not
shipped: the desk's alert list) and ``/api/shipments`` (shipped packages and where their
confirmation to Amazon stands).

Anyone who may view reads them; a caller with a limited scope sees only the stores in it.
``POST /api/shipments/{package_id}/decision``: a manager with the store in scope resends a
package Amazon refused or a store shipped twice (with a corrected carrier and tracking number
when given), or drops it; audited (``hub.amazon.shipments.decide``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from hub.access.permissions import Role, require_in_scope
from hub.amazon.shipments import decide, due_soon
from hub.errors import Forbidden, NotFound
from hub.fleet import stores as store_attrs
from hub.storage.engine import reading, writing
from hub.storage.tables.picking import package_shipments
from hub.web.api.deps import Caller, Hub, Viewer
from hub.web.api.idempotency import IDEMPOTENT
from hub.web.api.models import ErrorOut
from protocol import utc_now

router = APIRouter(prefix="/api/shipments", tags=["order routing"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 422)
}
DECISION_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 409, 422)
}
MANAGERS = frozenset({Role.ADMIN, Role.REGIONAL_MANAGER, Role.STORE_MANAGER})


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
        pattern="^(pending|sending|confirmed|failed|held|dropped)$")] = None,
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


class DecisionIn(BaseModel):
    """What a person decided about a failed or held package, and why."""

    model_config = ConfigDict(extra="forbid")
    action: Annotated[str, Field(pattern="^(resend|drop)$")]
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    carrier: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    tracking_number: Annotated[str | None, Field(min_length=1, max_length=64)] = None


@router.post("/{package_id}/decision", response_model=ShipmentOut, responses=DECISION_ERRORS,
             dependencies=IDEMPOTENT)
def decide_package(hub: Hub, who: Caller, package_id: str, body: DecisionIn) -> ShipmentOut:
    """Resend (corrected or not) or drop a package Amazon refused or a store shipped twice."""
    if who.role not in MANAGERS:
        raise Forbidden(f"role {who.role.value} may not decide shipments")
    with reading(hub.engine) as conn:
        store = conn.scalar(select(package_shipments.c.store_id).where(
            package_shipments.c.package_id == package_id))
        if store is None:
            raise NotFound(f"no shipped package {package_id!r}", field="package_id")
        place = store_attrs.place(conn, store)
    if not who.scope.unlimited and not who.scope.covers(place):
        raise NotFound(f"no shipped package {package_id!r}", field="package_id")  # unrevealed
    require_in_scope(who, place)
    with writing(hub.engine) as tx:
        done = decide(tx, package_id, body.action, body.reason, who.actor, who.role.value,
                      body.carrier, body.tracking_number)
    return ShipmentOut(**done)
