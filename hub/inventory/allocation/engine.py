"""The allocation engine: ``allocate(stock, rules, sales, now) -> Allocation``, pure.

Order per SKU, per store first, then per marketplace:
1. available = on hand − reserved − holds (a negative figure counts as 0: a store that oversold
   offers nothing and takes nothing from the other stores);
2. minus the safety-stock floor (the most specific entry: SKU × store, SKU, category, store,
   default);
3. minus the active in-store reserves, then minus the active reserves of *other* marketplaces
   (a reserve for marketplace M is still offered to M);
4. stores excluded from the marketplace drop out;
5. times the marketplace's share (basis points, integers only), summed over the stores and
   rounded down once (multi-location marketplaces: rounded down per store, since each store's
   quantity is sent on its own);
6. the SKU's cap on that marketplace, then the marketplace's cap per SKU; rounding down and
   capping commute on whole caps, so "caps, then round down" gives the same figure;
7. multi-location: when a cap leaves less than the stores could give, stores are drawn in
   priority-group order (stores in no group last), slowest sellers first within a group when the
   rules say so, then by store id.

Every unit removed is booked on the rule that removed it (``Offer.steps``), so
``offer.on_hand - sum(step.units) == offer.quantity`` always holds. Speed: one pass over the stock
lines grouped by SKU, integer arithmetic; a SKU held in few stores costs little whatever the
number of stores in the chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from hub.inventory.allocation.compiled import (
    BASIS,
    IN_STORE,
    CompiledMarketplace,
    CompiledReserve,
    CompiledRules,
)
from hub.inventory.allocation.values import (
    NO_SALES,
    Allocation,
    Offer,
    Sales,
    Step,
    Stock,
    StockLine,
)

AVAILABLE = "available"  # on hand minus reserved for orders and holds
UNRANKED = 1 << 30


@dataclass(frozen=True, slots=True)
class _Names:
    """The rule names of one marketplace, built once per run."""

    share: str
    excluded: str
    cap: str
    sku_caps: str


@dataclass(slots=True)
class _Base:
    """One SKU after the steps that do not depend on the marketplace."""

    on_hand: int
    units: list[tuple[str, int]]
    removed: dict[str, int]


def allocate(stock: Stock, rules: CompiledRules, sales: Sales = NO_SALES,
             now: datetime | None = None) -> Allocation:
    """What each marketplace is offered of each SKU in ``stock`` under ``rules`` at ``now``."""
    if now is None or now.tzinfo is None:
        raise ValueError("allocate needs an aware UTC time")
    reserves = rules.active_reserves(now)
    names = {
        m.marketplace: _Names(
            f"marketplaces.{m.marketplace}.share_percent",
            f"marketplaces.{m.marketplace}.excluded_stores",
            f"marketplaces.{m.marketplace}.cap",
            f"marketplaces.{m.marketplace}.sku_caps",
        )
        for m in rules.marketplaces
    }
    by_sku: dict[str, list[StockLine]] = {}
    for line in stock.lines:
        held = by_sku.get(line.sku)
        if held is None:
            by_sku[line.sku] = [line]
        else:
            held.append(line)
    offers: dict[tuple[str, str], Offer] = {}
    categories = stock.categories
    for sku, lines in by_sku.items():
        category = categories.get(sku)
        mine = [r for r in reserves if r.covers(sku, category)] if reserves else []
        base = _base(sku, category, lines, rules, [r for r in mine if r.target == IN_STORE])
        channel = [r for r in mine if r.target != IN_STORE]
        for market in rules.marketplaces:
            offers[(sku, market.marketplace)] = _offer(
                sku, base, market, names[market.marketplace], channel, rules, sales
            )
    return Allocation(rules.version, now, offers)


def _floor_of(sku: str, category: str | None, rules: CompiledRules) -> tuple[int | None, str]:
    """The SKU-wide floor (SKU or category entry), or None when the store decides."""
    floor = rules.floor_skus.get(sku)
    if floor is not None:
        return floor, f"safety_stock.skus.{sku}"
    if category is not None:
        floor = rules.floor_categories.get(category)
        if floor is not None:
            return floor, f"safety_stock.categories.{category}"
    return None, ""


def _base(sku: str, category: str | None, lines: Sequence[StockLine], rules: CompiledRules,
          in_store: list[CompiledReserve]) -> _Base:
    removed: dict[str, int] = {}
    units: list[tuple[str, int]] = []
    on_hand_total = 0
    sku_floor, sku_rule = _floor_of(sku, category, rules)
    per_store = rules.floor_sku_stores
    store_floors = rules.floor_stores
    for line in lines:
        store = line.store
        on_hand = line.on_hand if line.on_hand > 0 else 0
        on_hand_total += on_hand
        left = on_hand - line.reserved - line.holds
        if left < 0:
            left = 0
        if left < on_hand:
            removed[AVAILABLE] = removed.get(AVAILABLE, 0) + on_hand - left
        if left:
            floor = per_store.get((sku, store)) if per_store else None
            if floor is not None:
                rule = f"safety_stock.skus.{sku}@{store}"
            elif sku_floor is not None:
                floor, rule = sku_floor, sku_rule
            else:
                floor = store_floors.get(store)
                if floor is not None:
                    rule = f"safety_stock.stores.{store}"
                else:
                    floor, rule = rules.floor_default, "safety_stock.default"
            if floor:
                taken = floor if floor < left else left
                removed[rule] = removed.get(rule, 0) + taken
                left -= taken
            if in_store:
                left = _hold_back(store, left, in_store, removed)
        units.append((store, left))
    return _Base(on_hand_total, units, removed)


def _hold_back(store: str, left: int, reserves: list[CompiledReserve],
               removed: dict[str, int]) -> int:
    """``left`` after the reserves that cover ``store``, each booked on its rule."""
    for reserve in reserves:
        if left and (reserve.stores is None or store in reserve.stores):
            taken = reserve.quantity if reserve.quantity < left else left
            if taken:
                removed[reserve.rule] = removed.get(reserve.rule, 0) + taken
                left -= taken
    return left


def _offer(sku: str, base: _Base, market: CompiledMarketplace, names: _Names,
           channel: list[CompiledReserve], rules: CompiledRules, sales: Sales) -> Offer:
    removed = dict(base.removed)
    units = base.units
    others = [r for r in channel if r.target != market.marketplace]
    if others:
        units = [(store, _hold_back(store, left, others, removed)) for store, left in units]
    if market.excluded:
        dropped = sum(left for store, left in units if store in market.excluded)
        if dropped:
            removed[names.excluded] = dropped
        units = [(store, left) for store, left in units if store not in market.excluded]
    kept = sum(left for _, left in units)
    points = market.basis_points
    per_store: list[tuple[str, int]] = []
    if market.multi_location:
        per_store = [(store, left * points // BASIS) for store, left in units]
        quantity = sum(q for _, q in per_store)
    else:
        quantity = kept * points // BASIS
    if quantity < kept:
        removed[names.share] = kept - quantity
    offered = quantity
    sku_cap = market.sku_caps.get(sku) if market.sku_caps else None
    if sku_cap is not None and quantity > sku_cap:
        removed[f"{names.sku_caps}.{sku}"] = quantity - sku_cap
        quantity = sku_cap
    if market.cap is not None and quantity > market.cap:
        removed[names.cap] = quantity - market.cap
        quantity = market.cap
    stores: tuple[tuple[str, int], ...] = ()
    if market.multi_location:
        if quantity < offered:
            per_store = _draw(sku, per_store, quantity, rules, sales)
        stores = tuple(entry for entry in per_store if entry[1])
    steps = tuple(Step(rule, count) for rule, count in removed.items() if count)
    return Offer(sku, market.marketplace, quantity, base.on_hand, steps, stores)


def _draw(sku: str, per_store: list[tuple[str, int]], quantity: int, rules: CompiledRules,
          sales: Sales) -> list[tuple[str, int]]:
    """``quantity`` taken from the stores in priority order (see the module's rules)."""
    rank = rules.group_rank
    sold = sales.units if rules.slow_movers_first else {}

    def order(entry: tuple[str, int]) -> tuple[int, int, str]:
        store = entry[0]
        return rank.get(store, UNRANKED), sold.get((sku, store), 0), store

    drawn: list[tuple[str, int]] = []
    left = quantity
    for store, could in sorted(per_store, key=order):
        take = could if could < left else left
        drawn.append((store, take))
        left -= take
    return drawn
