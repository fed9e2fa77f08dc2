"""The allocation engine's input from the hub's own stock view: ``Stock`` and ``Sales`` as of now.

Rules:
- one ``StockLine`` per (SKU, store) the view holds: ``on_hand`` counts every unit still in the
  store (sellable, reserved for orders, QC hold, refurbish, in transit; scrap never), ``reserved``
  the units reserved for orders, ``holds`` the QC, refurbish and in-transit units, so the engine's
  "available = on hand − reserved − holds" is exactly the sellable figure (a negative sellable
  figure, a store that sold what it did not book, offers nothing);
- sales velocity: the units of POS-sale moves per (SKU, store) whose time falls in the last
  ``days`` days before ``now``;
- categories: each held SKU's category from the product catalogue (``hub.inventory.catalogue``),
  so the rules' category floors and reserves apply; a SKU the catalogue does not know has none
  (the simulation reports those, since no category rule covers them);
- read-only, three statements whatever the number of stores; routing reads the view of the
  SKUs it routes only (``stock_view``), and no sales.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from hub.inventory.allocation.values import Sales, Stock, StockLine
from hub.storage.bulk import among
from hub.storage.tables.catalogue import catalogue_items
from hub.storage.tables.inventory import stock_levels, stock_moves
from protocol import MoveReason, StockState

SALES_DAYS = 28
HOLDS = frozenset({StockState.QC_HOLD.value, StockState.REFURBISH.value,
                   StockState.IN_TRANSIT.value})
NOT_HELD = frozenset({StockState.SCRAP.value})


def current_stock(conn: Connection, now: datetime, days: int = SALES_DAYS) -> tuple[Stock, Sales]:
    """The stock view as the engine reads it, and the POS sales of the last ``days`` days."""
    if days < 1:
        raise ValueError("the sales window is at least one day")
    return stock_view(conn), pos_sales(conn, now, days)


def stock_view(conn: Connection, skus: Collection[str] | None = None) -> Stock:
    """The stock view as the engine reads it: every SKU held, or only ``skus`` (routing asks
    for its orders' SKUs: a lookup of the SKU index, not a read of the chain's whole view)."""
    figures: dict[tuple[str, str], list[int]] = {}  # on hand, reserved, holds
    query = select(stock_levels.c.sku, stock_levels.c.store_id, stock_levels.c.state,
                   stock_levels.c.quantity)
    if skus is not None:
        if not skus:
            return Stock([], {})
        query = query.where(among(conn, stock_levels.c.sku, sorted(set(skus))))
    for row in conn.execute(query):
        if row.state in NOT_HELD:
            continue
        quantity = int(row.quantity)
        held = figures.setdefault((row.sku, row.store_id), [0, 0, 0])
        held[0] += quantity
        if row.state == StockState.RESERVED.value:
            held[1] += max(quantity, 0)
        elif row.state in HOLDS:
            held[2] += max(quantity, 0)
    lines = [StockLine(sku, store, on_hand, reserved, holds)
             for (sku, store), (on_hand, reserved, holds) in figures.items()]
    return Stock(lines, categories_of(conn, skus))


def pos_sales(conn: Connection, now: datetime, days: int = SALES_DAYS) -> Sales:
    """The units of POS-sale moves per (SKU, store) in the last ``days`` days before ``now``
    (the sales moves' time index, migration 0041: the window's moves, not the whole history)."""
    m = stock_moves.c
    sold = conn.execute(
        select(m.sku, m.store_id, func.sum(m.quantity))
        .where(m.reason == MoveReason.POS_SALE.value,
               m.at >= now - timedelta(days=days), m.at <= now)
        .group_by(m.sku, m.store_id))
    return Sales({(sku, store): int(total) for sku, store, total in sold if total}, days)


def categories_of(conn: Connection, skus: Collection[str] | None = None) -> dict[str, str]:
    """The catalogue's category of every SKU the stock view holds (and the catalogue knows),
    or of ``skus`` only."""
    query = select(catalogue_items.c.sku, catalogue_items.c.category)
    if skus is None:
        query = query.where(catalogue_items.c.sku.in_(
            select(stock_levels.c.sku).distinct().scalar_subquery()))
    else:
        query = query.where(among(conn, catalogue_items.c.sku, sorted(set(skus))))
    return {sku: category for sku, category in conn.execute(query)}
