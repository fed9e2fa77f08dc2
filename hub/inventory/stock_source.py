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
- read-only, three statements whatever the number of stores.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from hub.inventory.allocation.values import Sales, Stock, StockLine
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
    figures: dict[tuple[str, str], list[int]] = {}  # on hand, reserved, holds
    rows = conn.execute(select(stock_levels.c.sku, stock_levels.c.store_id, stock_levels.c.state,
                               stock_levels.c.quantity))
    for row in rows:
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
    sold = conn.execute(
        select(stock_moves.c.sku, stock_moves.c.store_id, func.sum(stock_moves.c.quantity))
        .where(stock_moves.c.reason == MoveReason.POS_SALE.value,
               stock_moves.c.at >= now - timedelta(days=days), stock_moves.c.at <= now)
        .group_by(stock_moves.c.sku, stock_moves.c.store_id))
    units = {(sku, store): int(total) for sku, store, total in sold if total}
    return Stock(lines, categories_of(conn)), Sales(units, days)


def categories_of(conn: Connection) -> dict[str, str]:
    """The catalogue's category of every SKU the stock view holds (and the catalogue knows)."""
    held = select(stock_levels.c.sku).distinct().scalar_subquery()
    rows = conn.execute(select(catalogue_items.c.sku, catalogue_items.c.category)
                        .where(catalogue_items.c.sku.in_(held)))
    return {sku: category for sku, category in rows}
