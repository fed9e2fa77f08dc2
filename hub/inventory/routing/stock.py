"""Stock as routing reads it: sellable units per SKU and store above the allocation rules'
safety floor (pure).

Rules:
- sellable = on hand − reserved − holds, as the allocation engine's "available" (negative counts
  as 0: a store that oversold gives nothing);
- the floor is the allocation rules' safety stock, the most specific entry winning exactly as in
  ``hub.inventory.allocation.engine``: SKU × store, SKU, category, store, default; a test proves
  the two agree on every level (one fact, two readers);
- only the SKUs asked for are looked at.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.inventory.allocation.compiled import CompiledRules
from hub.inventory.allocation.values import Stock
from hub.inventory.routing.values import RoutingStock, Usable


def floor_of(rules: CompiledRules, sku: str, category: str | None, store: str) -> tuple[int, str]:
    """The safety floor of ``sku`` at ``store`` and the rule that sets it."""
    per_store = rules.floor_sku_stores.get((sku, store))
    if per_store is not None:
        return per_store, f"safety_stock.skus.{sku}@{store}"
    sku_floor = rules.floor_skus.get(sku)
    if sku_floor is not None:
        return sku_floor, f"safety_stock.skus.{sku}"
    if category is not None and category in rules.floor_categories:
        return rules.floor_categories[category], f"safety_stock.categories.{category}"
    if store in rules.floor_stores:
        return rules.floor_stores[store], f"safety_stock.stores.{store}"
    return rules.floor_default, "safety_stock.default"


def routing_stock(stock: Stock, rules: CompiledRules, skus: Iterable[str]) -> RoutingStock:
    """Usable units of ``skus`` per store, after the safety floor."""
    wanted = frozenset(skus)
    usable: dict[tuple[str, str], Usable] = {}
    for line in stock.lines:
        if line.sku not in wanted:
            continue
        on_hand = max(line.on_hand, 0)
        sellable = max(on_hand - line.reserved - line.holds, 0)
        floor, rule = floor_of(rules, line.sku, stock.categories.get(line.sku), line.store)
        usable[(line.sku, line.store)] = Usable(sellable, floor, rule)
    return RoutingStock(usable)
