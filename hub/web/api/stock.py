"""The stock view: each SKU's stock per store and state, chain totals, and its movement history.

    GET /api/stock?sku=&store=        per SKU: chain totals by state and each store's figures,
                                      with the time they are as of (paged by SKU)
    GET /api/stock/{sku}/moves?store= the SKU's moves, newest first (paged)

Scoped by the caller's region, city or store like every desk list: stores outside the scope are
left out (a ``store`` filter outside it is a 403 naming ``store``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from hub.access.permissions import Principal, require_in_scope
from hub.fleet import stores
from hub.inventory.queries import move_page, stock_page
from hub.storage.engine import reading
from hub.web.api.deps import Hub, Viewer
from hub.web.api.models import ErrorOut, Out, Page
from hub.web.api.ops import Limit, Offset
from protocol import MoveReason, StockState

router = APIRouter(prefix="/api/stock", tags=["stock"])
Store = Annotated[str | None, Query(min_length=1, max_length=40, description="only this store")]
Sku = Annotated[str | None, Query(min_length=1, max_length=64, description="only this SKU")]
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 422)}


class StoreStockOut(Out):
    """One store's stock of a SKU."""

    store_id: str
    levels: dict[StockState, int]
    on_hand: int
    as_of: datetime
    differs: bool


class StockOut(Out):
    """A SKU across the stores in scope."""

    sku: str
    totals: dict[StockState, int]
    on_hand: int
    as_of: datetime | None
    stores: list[StoreStockOut]


class MoveOut(Out):
    """One stock move a store reported."""

    store_id: str
    node_id: str
    seq: int
    move_id: str
    sku: str
    quantity: int
    from_state: StockState | None
    to_state: StockState | None
    reason: MoveReason
    pos_transaction_id: str | None
    return_id: str | None
    count_id: str | None
    transfer_id: str | None
    staff_id: str | None
    at: datetime
    from_after: int | None
    to_after: int | None
    store_from_after: int | None
    store_to_after: int | None


def _within(who: Principal) -> Any:
    return lambda column: stores.in_scope(who.scope, column)


def _check_store(conn: Any, who: Principal, store: str | None) -> None:
    if store:
        require_in_scope(who, stores.place(conn, store))


@router.get("", response_model=Page[StockOut], responses=ERRORS)
def get_stock(hub: Hub, who: Viewer, sku: Sku = None, store: Store = None,
              limit: Limit = 50, offset: Offset = 0) -> Page[StockOut]:
    """Stock per SKU in the caller's scope: chain totals by state and each store's figures as
    of its latest move; ``differs`` when the store reported another quantity than the hub's
    sum of its moves."""
    with reading(hub.engine) as conn:
        _check_store(conn, who, store)
        rows, total = stock_page(conn, sku, store, limit, offset, _within(who))
    return Page[StockOut](items=[StockOut.model_validate(r) for r in rows], total=total,
                          limit=limit, offset=offset)


@router.get("/{sku}/moves", response_model=Page[MoveOut], responses=ERRORS)
def get_moves(hub: Hub, who: Viewer,
              sku: Annotated[str, Path(min_length=1, max_length=64)], store: Store = None,
              limit: Limit = 50, offset: Offset = 0) -> Page[MoveOut]:
    """The SKU's stock moves in the caller's scope, newest first."""
    with reading(hub.engine) as conn:
        _check_store(conn, who, store)
        rows, total = move_page(conn, sku, store, limit, offset, _within(who))
    return Page[MoveOut](items=[MoveOut.model_validate(r) for r in rows], total=total,
                         limit=limit, offset=offset)
