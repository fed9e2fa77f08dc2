"""Order routing through the API: ``/api/routing/orders`` (list, one order with its reasons and
history, route by hand, give back) and ``/api/routing/rules``.

Who may do what:
- reading: anyone who may view; a caller with a limited scope sees the orders that one of the
  stores in their scope ships or gave back (an unroutable order only with an unlimited scope);
- ``POST .../route``: a manager (admin, regional or store manager); to a chosen ``store``
  inside their scope, or by the rules when every store now shipping the order is in their scope
  (an unroutable order: an unlimited scope);
- ``POST .../give-back``: store staff and managers, for a store in their scope;
- ``PUT /api/routing/rules``: an admin.
Every change is audited (``hub.inventory.routing.service``); a reason is required (422 without).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.access.permissions import Principal, Role, require_in_scope
from hub.access.users import Actor
from hub.errors import Forbidden, NotFound
from hub.fleet import stores as store_attrs
from hub.inventory.routing import Status, rules_store, service
from hub.storage.engine import reading, writing
from hub.web.api.deps import Caller, Hub, Viewer
from hub.web.api.idempotency import IDEMPOTENT
from hub.web.api.models import ErrorOut

router = APIRouter(prefix="/api/routing", tags=["order routing"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 409, 422)
}
MANAGERS = frozenset({Role.ADMIN, Role.REGIONAL_MANAGER, Role.STORE_MANAGER})
STORE_PEOPLE = MANAGERS | {Role.STORE_STAFF}
StoreId = Annotated[str, Field(min_length=1, max_length=40)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RouteIn(_In):
    """Route again: to ``store`` when given, else by the rules."""

    store: StoreId | None = None
    reason: Reason


class GiveBackIn(_In):
    """A store cannot fill its package of the order."""

    store: StoreId
    reason: Reason


class RulesIn(_In):
    """A new routing rules version (YAML text)."""

    yaml: Annotated[str, Field(min_length=1, max_length=1_000_000)]


class RulesOut(BaseModel):
    """The active routing rules."""

    version: int
    name: str
    yaml: str


class RoutedOrderOut(BaseModel):
    """An order's current route; ``decision`` holds the packages, reasons and every store's
    verdict (dropped with why, or ranked with distance, ship date and what it fills)."""

    account: str
    order_id: str
    marketplace_id: str
    country: str | None
    postal_code: str | None
    status: Status
    stores: list[str]
    given_back: list[str]
    attempt: int
    rules_version: int
    routed_at: datetime
    routed_by: str
    decision: dict[str, Any]


class DecisionStepOut(BaseModel):
    """One decision of an order's history."""

    attempt: int
    cause: str
    status: Status
    decided_at: datetime
    decided_by: str
    reason: str | None
    decision: dict[str, Any]


class RoutedOrderDetail(RoutedOrderOut):
    """An order's route and every decision made for it, oldest first."""

    history: list[DecisionStepOut]


def _visible(hub: Hub, who: Principal, row: dict[str, Any]) -> bool:
    if who.scope.unlimited:
        return True
    involved = {*row["stores"], *row["given_back"]}
    with reading(hub.engine) as conn:
        places = store_attrs.places(conn, involved)
    return any(who.scope.covers(place) for place in places.values())


def _require_store(hub: Hub, who: Principal, store_id: str) -> None:
    with reading(hub.engine) as conn:
        place = store_attrs.place(conn, store_id)
    require_in_scope(who, place)


@router.get("/orders", response_model=list[RoutedOrderOut], responses=ERRORS)
def list_orders(hub: Hub, who: Viewer, status: Status | None = None,
                store: Annotated[str | None, Query(max_length=40)] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[RoutedOrderOut]:
    """Routed orders, newest first (only a status, or a store's, when asked)."""
    if store is not None:
        _require_store(hub, who, store)
    with reading(hub.engine) as conn:
        rows = service.listing(conn, status.value if status else None, store, limit)
        if not who.scope.unlimited:
            places = store_attrs.places(conn, {s for r in rows
                                               for s in (*r["stores"], *r["given_back"])})
            rows = [r for r in rows if any(who.scope.covers(places[s])
                                           for s in (*r["stores"], *r["given_back"]))]
    return [RoutedOrderOut(**row) for row in rows]


@router.get("/orders/{order_id}", response_model=RoutedOrderDetail, responses=ERRORS)
def get_order(hub: Hub, who: Viewer, order_id: str) -> RoutedOrderDetail:
    """An order's route with every reason, and its history."""
    with reading(hub.engine) as conn:
        found = service.detail(conn, order_id)
    if not _visible(hub, who, found):
        raise NotFound(f"no routed order {order_id!r}", field="order_id")  # nothing revealed
    return RoutedOrderDetail(**found)


@router.post("/orders/{order_id}/route", response_model=RoutedOrderDetail, responses=ERRORS,
             dependencies=IDEMPOTENT)
def route_order(hub: Hub, who: Caller, order_id: str, body: RouteIn) -> RoutedOrderDetail:
    """Route an order again by the rules, or to a chosen store (managers); audited."""
    if who.role not in MANAGERS:
        raise Forbidden(f"role {who.role.value} may not route orders by hand")
    with reading(hub.engine) as conn:
        current = service.detail(conn, order_id)
    if not _visible(hub, who, current):
        raise NotFound(f"no routed order {order_id!r}", field="order_id")
    if body.store is not None:
        _require_store(hub, who, body.store)
    elif not who.scope.unlimited:
        if not current["stores"]:
            raise Forbidden("an unroutable order is routed again by HQ (an unlimited scope)")
        for store in current["stores"]:
            _require_store(hub, who, store)
    service.reroute(hub.engine, order_id, Actor(who.actor, who.role.value), body.reason,
                    body.store)
    return _detail(hub, order_id)


@router.post("/orders/{order_id}/give-back", response_model=RoutedOrderDetail,
             responses=ERRORS, dependencies=IDEMPOTENT)
def give_back(hub: Hub, who: Caller, order_id: str, body: GiveBackIn) -> RoutedOrderDetail:
    """The store cannot fill its package: the order is routed again without it; audited."""
    if who.role not in STORE_PEOPLE:
        raise Forbidden(f"role {who.role.value} may not give orders back")
    _require_store(hub, who, body.store)
    service.give_back(hub.engine, order_id, body.store, Actor(who.actor, who.role.value),
                      body.reason)
    return _detail(hub, order_id)


def _detail(hub: Hub, order_id: str) -> RoutedOrderDetail:
    with reading(hub.engine) as conn:
        return RoutedOrderDetail(**service.detail(conn, order_id))


@router.get("/rules", response_model=RulesOut, responses=ERRORS)
def get_rules(hub: Hub, who: Viewer) -> RulesOut:
    """The active routing rules."""
    with reading(hub.engine) as conn:
        text = rules_store.active_text(conn)
        rules = rules_store.active(conn)
    return RulesOut(version=rules.version, name=rules.name, yaml=text)


@router.put("/rules", response_model=RulesOut, responses=ERRORS, dependencies=IDEMPOTENT)
def put_rules(hub: Hub, who: Caller, body: RulesIn) -> RulesOut:
    """Publish a new routing rules version (admin); 422 names each bad field."""
    if who.role is not Role.ADMIN:
        raise Forbidden(f"role {who.role.value} may not publish routing rules")
    with writing(hub.engine) as tx:
        rules = rules_store.publish(tx, body.yaml, who.actor, who.role.value)
    return RulesOut(version=rules.version, name=rules.name, yaml=body.yaml)
