"""Transfers between stores through the API: ``/api/transfers`` (request, list, one with its
lines) and ``/api/transfers/price-rules`` and ``/api/transfers/settlement`` (monthly, JSON or CSV).

Who may do what:
- reading transfers: anyone who may view; a caller with a limited scope sees the transfers one
  of whose two stores is in their scope;
- ``POST /api/transfers``: a manager (admin, regional or store manager) with at least one of
  the two stores in scope; audited (``hub.inventory.transfers.orders``);
- the settlement: finance and admins (it names every store's money);
- ``PUT /api/transfers/price-rules``: finance and admins.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from hub.access.permissions import Principal, Role
from hub.errors import Forbidden, NotFound
from hub.fleet import stores as store_attrs
from hub.inventory.transfers import orders, rules_store, settlement
from hub.storage.engine import reading, writing
from hub.web.api.deps import Caller, Hub, Viewer
from hub.web.api.idempotency import IDEMPOTENT
from hub.web.api.models import ErrorOut

router = APIRouter(prefix="/api/transfers", tags=["transfers"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 409, 422)
}
MANAGERS = frozenset({Role.ADMIN, Role.REGIONAL_MANAGER, Role.STORE_MANAGER})
FINANCE = frozenset({Role.ADMIN, Role.FINANCE})
StoreId = Annotated[str, Field(min_length=1, max_length=40)]
Sku = Annotated[str, Field(min_length=1, max_length=64)]
Month = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM (UTC)",
                             examples=["2026-11"])]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineIn(_In):
    """Units of one SKU to transfer."""

    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=100_000)]


class TransferIn(_In):
    """A transfer order: from one store to another."""

    transfer_id: Annotated[str, Field(min_length=1, max_length=64,
                                      pattern=r"^[A-Za-z0-9_.:-]+$")] | None = None
    from_store: StoreId
    to_store: StoreId
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=200)]
    note: Annotated[str, Field(max_length=2000)] | None = None


class LineOut(BaseModel):
    """One SKU of a transfer: requested, and what the stores' moves say."""

    sku: str
    requested: int
    shipped: int
    announced: int
    received: int
    lost: int
    surplus: int
    delivered: int


class TransferOut(BaseModel):
    """A transfer order and where it stands."""

    transfer_id: str
    from_store: str
    to_store: str
    status: str
    note: str | None
    send_node: str
    receive_node: str | None
    requested_by: str
    requested_at: datetime
    shipped_at: datetime | None
    received_at: datetime | None
    delivered_at: datetime | None
    lines: list[LineOut]


class RulesIn(_In):
    """A new transfer price rules version (YAML text)."""

    yaml: Annotated[str, Field(min_length=1, max_length=1_000_000)]


class RulesOut(BaseModel):
    """The active transfer price rules."""

    version: int
    name: str
    currency: str
    yaml: str


class SettlementOut(BaseModel):
    """A month's internal settlement (amounts as exact decimals in the line's currency)."""

    month: str
    between_stores: list[dict[str, Any]]
    between_regions: list[dict[str, Any]]
    stores: list[dict[str, Any]]
    totals: list[dict[str, Any]]
    unpriced: int
    lines: list[dict[str, Any]]


def _covers(hub: Hub, who: Principal, store_ids: list[str]) -> bool:
    if who.scope.unlimited:
        return True
    with reading(hub.engine) as conn:
        places = store_attrs.places(conn, store_ids)
    return any(who.scope.covers(place) for place in places.values())


@router.post("", response_model=TransferOut, status_code=201, responses=ERRORS,
             dependencies=IDEMPOTENT)
def request_transfer(hub: Hub, who: Caller, body: TransferIn) -> TransferOut:
    """Request a transfer (managers); the sending store gets it as a task; audited."""
    if who.role not in MANAGERS:
        raise Forbidden(f"role {who.role.value} may not request transfers")
    if not _covers(hub, who, [body.from_store, body.to_store]):
        raise Forbidden("neither store of the transfer is in your scope", field="from_store")
    asked = orders.Request(body.from_store, body.to_store,
                           [(li.sku, li.quantity) for li in body.lines], body.note,
                           body.transfer_id)
    with writing(hub.engine) as tx:
        row = orders.request(tx, asked, who.actor, who.role.value)
    return TransferOut(**row)


class CancelIn(BaseModel):
    """Why a transfer not shipped yet is cancelled."""

    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=500)]


@router.post("/{transfer_id}/cancel", response_model=TransferOut, responses=ERRORS,
             dependencies=IDEMPOTENT)
def cancel_transfer(hub: Hub, who: Caller, transfer_id: str, body: CancelIn) -> TransferOut:
    """Cancel a transfer not shipped yet (managers with a store of it in scope); audited."""
    if who.role not in MANAGERS:
        raise Forbidden(f"role {who.role.value} may not cancel transfers")
    with reading(hub.engine) as conn:
        row = orders.detail(conn, transfer_id)
    if not _covers(hub, who, [row["from_store"], row["to_store"]]):
        raise NotFound(f"no transfer {transfer_id!r}", field="transfer_id")
    with writing(hub.engine) as tx:
        done = orders.cancel(tx, transfer_id, body.reason, who.actor, who.role.value)
    return TransferOut(**done)


@router.get("", response_model=list[TransferOut], responses=ERRORS)
def list_transfers(hub: Hub, who: Viewer,
                   status: Annotated[str | None, Query(max_length=30)] = None,
                   store: Annotated[str | None, Query(max_length=40)] = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[TransferOut]:
    """Transfers, newest first (only a status's, or a store's, when asked)."""
    with reading(hub.engine) as conn:
        rows = orders.listing(conn, status, store, limit)
    return [TransferOut(**r) for r in rows
            if _covers(hub, who, [r["from_store"], r["to_store"]])]


@router.get("/price-rules", response_model=RulesOut, responses=ERRORS)
def get_rules(hub: Hub, who: Viewer) -> RulesOut:
    """The active transfer price rules."""
    with reading(hub.engine) as conn:
        text, rules = rules_store.active_text(conn), rules_store.active(conn)
    return RulesOut(version=rules.version, name=rules.name, currency=rules.currency, yaml=text)


@router.put("/price-rules", response_model=RulesOut, responses=ERRORS, dependencies=IDEMPOTENT)
def put_rules(hub: Hub, who: Caller, body: RulesIn) -> RulesOut:
    """Publish a new transfer price rules version (finance, admin); 422 names each bad field."""
    if who.role not in FINANCE:
        raise Forbidden(f"role {who.role.value} may not publish transfer price rules")
    with writing(hub.engine) as tx:
        rules = rules_store.publish(tx, body.yaml, who.actor, who.role.value)
    return RulesOut(version=rules.version, name=rules.name, currency=rules.currency,
                    yaml=body.yaml)


def _finance(who: Principal) -> None:
    if who.role not in FINANCE or not who.scope.unlimited:
        raise Forbidden("the internal settlement is for finance and admins with every store "
                        "in scope")


@router.get("/settlement", response_model=SettlementOut, responses=ERRORS)
def get_settlement(hub: Hub, who: Viewer, month: Month) -> SettlementOut:
    """The month's internal settlement between stores and between regions, with its lines."""
    _finance(who)
    with reading(hub.engine) as conn:
        found = settlement.summary(conn, settlement.check_month(month))
    return SettlementOut(**_plain(found))


@router.get("/settlement.csv", response_class=Response, responses={
    **ERRORS, 200: {"content": {"text/csv": {}}, "description": "the month's lines as CSV"}})
def get_settlement_csv(hub: Hub, who: Viewer, month: Month) -> Response:
    """The month's settlement lines as CSV (one per received transfer and SKU)."""
    _finance(who)
    with reading(hub.engine) as conn:
        text = settlement.csv_text(conn, settlement.check_month(month))
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="transfer-settlement-{month}.csv"'})


@router.get("/{transfer_id}", response_model=TransferOut, responses=ERRORS)
def get_transfer(hub: Hub, who: Viewer, transfer_id: str) -> TransferOut:
    """One transfer with its lines."""
    with reading(hub.engine) as conn:
        row = orders.detail(conn, transfer_id)
    if not _covers(hub, who, [row["from_store"], row["to_store"]]):
        raise NotFound(f"no transfer {transfer_id!r}", field="transfer_id")
    return TransferOut(**row)


def _plain(value: Any) -> Any:
    """Decimals as exact text, times as ISO text (the JSON form)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
