"""Each store's part of a rules version, as its store config carries it (``StoreAllocation``).

Rules:
- a store gets its floors (its own floor, or the default; the category floors; every SKU floor
  that names it or no store, the one naming it winning), the reserves that name it or no store,
  and the marketplaces that exclude it; share percentages, caps and priorities stay at the hub
  (they shape what the hub offers online, not what the store keeps);
- the part is bounded by ``protocol.limits``; ``check_parts_fit`` refuses a rules version whose
  part for some store would be larger (``RulesError`` naming the field), so a published version
  always reaches every store whole;
- pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from hub.inventory.allocation.compiled import CompiledReserve, CompiledRules
from hub.inventory.allocation.errors import Problem, RulesError
from protocol import format_utc
from protocol.limits import (
    MAX_ALLOCATION_CATEGORY_FLOORS,
    MAX_ALLOCATION_RESERVE_SKUS,
    MAX_ALLOCATION_RESERVES,
    MAX_ALLOCATION_SKU_FLOORS,
)


def _concerns(reserve: CompiledReserve, store_id: str) -> bool:
    return reserve.stores is None or store_id in reserve.stores


def _reserve(reserve: CompiledReserve) -> dict[str, Any]:
    return {
        "name": reserve.rule.removeprefix("reserves."),
        "for": reserve.target,
        "quantity": reserve.quantity,
        "skus": sorted(reserve.skus or ()),
        "categories": sorted(reserve.categories or ()),
        "starts": format_utc(reserve.starts) if reserve.starts else None,
        "ends": format_utc(reserve.ends) if reserve.ends else None,
    }


def store_part(rules: CompiledRules, store_id: str) -> dict[str, Any]:
    """The ``allocation`` part of ``store_id``'s config (JSON-ready, key order stable)."""
    floors = dict(rules.floor_skus)
    floors.update({sku: floor for (sku, store), floor in rules.floor_sku_stores.items()
                   if store == store_id})
    return {
        "version": rules.version,
        "name": rules.name,
        "floor": rules.floor_stores.get(store_id, rules.floor_default),
        "category_floors": dict(sorted(rules.floor_categories.items())),
        "sku_floors": dict(sorted(floors.items())),
        "reserves": [_reserve(r) for r in rules.reserves if _concerns(r, store_id)],
        "excluded_from": [m.marketplace for m in rules.marketplaces if store_id in m.excluded],
    }


def check_parts_fit(rules: CompiledRules) -> None:
    """``RulesError`` when some store's part would exceed what a store config carries."""
    problems: list[Problem] = []
    per_store: dict[str, int] = {}
    for (_sku, store) in rules.floor_sku_stores:
        per_store[store] = per_store.get(store, 0) + 1
    widest = max(per_store.values(), default=0)
    if len(rules.floor_skus) + widest > MAX_ALLOCATION_SKU_FLOORS:
        problems.append(Problem("safety_stock.skus", (
            f"a store would be sent {len(rules.floor_skus) + widest} SKU floors; a store config "
            f"carries at most {MAX_ALLOCATION_SKU_FLOORS}: use category floors")))
    if len(rules.floor_categories) > MAX_ALLOCATION_CATEGORY_FLOORS:
        problems.append(Problem("safety_stock.categories", (
            f"{len(rules.floor_categories)} category floors; a store config carries at most "
            f"{MAX_ALLOCATION_CATEGORY_FLOORS}")))
    stores = {s for r in rules.reserves for s in r.stores or ()}
    general = sum(r.stores is None for r in rules.reserves)
    most = max((sum(_concerns(r, s) for r in rules.reserves) for s in stores), default=general)
    if max(most, general) > MAX_ALLOCATION_RESERVES:
        problems.append(Problem("reserves", (
            f"a store would be sent {max(most, general)} reserves; a store config carries at "
            f"most {MAX_ALLOCATION_RESERVES}")))
    for index, reserve in enumerate(rules.reserves):
        for field, values in (("skus", reserve.skus), ("categories", reserve.categories)):
            if len(values or ()) > MAX_ALLOCATION_RESERVE_SKUS:
                problems.append(Problem(f"reserves[{index}].{field}", (
                    f"{len(values or ())} {field}; a reserve sent to the stores names at most "
                    f"{MAX_ALLOCATION_RESERVE_SKUS} (use categories)")))
    if problems:
        raise RulesError(problems)
