"""What the allocation rules keep back of a SKU at this store, and the counter's warning (pure).

Rules:
- kept back = the store's floor for the SKU (its SKU floor, else the store's floor; the node
  knows no SKU categories, so category floors do not apply here) plus every reserve of the
  store's part that is active at ``now`` (``starts`` inclusive, ``ends`` exclusive) and covers
  the SKU: in-store reserves and reserves for a marketplace alike; a reserve limited to
  categories only is left out (the category is not known here);
- a sale warns when the sellable quantity after it falls below what is kept back: it ate into
  units the rules hold for online orders or in-store sale. The sale is booked all the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from protocol import StoreAllocation, StoreReserve


@dataclass(frozen=True)
class KeptBack:
    """Units of one SKU the rules keep back at this store, and why."""

    floor: int
    reserves: tuple[tuple[str, str, int], ...]  # (name, for, quantity)

    @property
    def units(self) -> int:
        """The floor and the active reserves together."""
        return self.floor + sum(q for _, _, q in self.reserves)


NOTHING = KeptBack(0, ())


def _covers(reserve: StoreReserve, sku: str, now: datetime) -> bool:
    if reserve.starts is not None and now < reserve.starts:
        return False
    if reserve.ends is not None and now >= reserve.ends:
        return False
    if reserve.skus:
        return sku in reserve.skus
    return not reserve.categories


def kept_back(part: StoreAllocation | None, sku: str, now: datetime) -> KeptBack:
    """What ``part`` keeps back of ``sku`` at ``now`` (nothing without a part)."""
    if part is None:
        return NOTHING
    floor = part.sku_floors.get(sku, part.floor)
    reserves = tuple((r.name, r.for_, r.quantity) for r in part.reserves
                     if r.quantity and _covers(r, sku, now))
    return KeptBack(floor, reserves)


def eats_into(sellable_after: int, held: KeptBack) -> bool:
    """True when a sale left fewer sellable units than the rules keep back."""
    return held.units > 0 and sellable_after < held.units
