"""Read the stock view: per SKU, the chain's totals by state and each store's figures with the
time they are as of; and the movement history.

The caller passes the scope as a SQL condition on a store id column (``within``; the web layer
builds it from the caller's region, city or store), so every read is scoped like the desk lists.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, distinct, func, select, true

from hub.storage.tables.inventory import stock_levels, stock_moves
from protocol import StockState

Row = dict[str, Any]
Within = Callable[[Any], ColumnElement[bool]]


def _everywhere(_column: Any) -> ColumnElement[bool]:
    return true()


def _zeros() -> dict[str, int]:
    return {state.value: 0 for state in StockState}


def stock_page(conn: Connection, sku: str | None, store: str | None, limit: int, offset: int,
               within: Within = _everywhere) -> tuple[list[Row], int]:
    """A page of SKUs (by SKU) with chain totals by state and each store's figures."""
    where = [within(stock_levels.c.store_id)]
    if sku:
        where.append(stock_levels.c.sku == sku)
    if store:
        where.append(stock_levels.c.store_id == store)
    total = conn.execute(select(func.count(distinct(stock_levels.c.sku))).where(*where)
                         ).scalar_one()
    skus = [r.sku for r in conn.execute(
        select(stock_levels.c.sku).where(*where).distinct().order_by(stock_levels.c.sku)
        .limit(limit).offset(offset))]
    if not skus:
        return [], int(total)
    rows = conn.execute(select(stock_levels).where(*where, stock_levels.c.sku.in_(skus))
                        .order_by(stock_levels.c.sku, stock_levels.c.store_id))
    by_sku: dict[str, Row] = {s: {"sku": s, "totals": _zeros(), "stores": {}} for s in skus}
    for row in rows:
        item = by_sku[row.sku]
        place = item["stores"].setdefault(row.store_id, {
            "store_id": row.store_id, "levels": _zeros(), "as_of": row.as_of,
            "differs": False})
        place["levels"][row.state] = int(row.quantity)
        place["as_of"] = max(place["as_of"], row.as_of)
        place["differs"] |= (row.reported_quantity is not None
                             and int(row.reported_quantity) != int(row.quantity))
        item["totals"][row.state] += int(row.quantity)
    out = []
    for item in by_sku.values():
        stores = list(item["stores"].values())
        for place in stores:
            place["on_hand"] = sum(place["levels"].values())
        as_of: datetime | None = max((p["as_of"] for p in stores), default=None)
        out.append({**item, "stores": stores, "on_hand": sum(item["totals"].values()),
                    "as_of": as_of})
    return out, int(total)


def move_page(conn: Connection, sku: str | None, store: str | None, limit: int, offset: int,
              within: Within = _everywhere) -> tuple[list[Row], int]:
    """A page of stock moves, newest first."""
    where = [within(stock_moves.c.store_id)]
    if sku:
        where.append(stock_moves.c.sku == sku)
    if store:
        where.append(stock_moves.c.store_id == store)
    total = conn.execute(select(func.count()).select_from(stock_moves).where(*where)).scalar_one()
    rows = conn.execute(select(stock_moves).where(*where).order_by(
        stock_moves.c.at.desc(), stock_moves.c.id.desc()).limit(limit).offset(offset))
    return [dict(r._mapping) for r in rows], int(total)
