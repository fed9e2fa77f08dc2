"""Plain values the allocation engine reads and returns: stock, sales, offers and their steps.

Rules:
- quantities are whole units; ``on_hand`` may be negative (a store that sold what it did not
  book), and such a store offers nothing and takes nothing from the others;
- an ``Offer`` explains itself: ``on_hand`` (the sum of the stores' positive on-hand figures)
  minus the ``units`` of its ``steps`` is its ``quantity``, exactly; each step names the rule that
  removed those units (``safety_stock.categories.electronics``, ``marketplaces.X.share_percent``,
  ``reserves.black_friday``, ``marketplaces.X.cap``, ...); rules that removed nothing are left out;
- ``stores`` of an offer holds the quantity per store for multi-location marketplaces (empty for
  the others), in the order the stores are drawn from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class StockLine:
    """One SKU at one store: on hand, reserved for orders, held (QC, transfers out)."""

    sku: str
    store: str
    on_hand: int
    reserved: int = 0
    holds: int = 0


@dataclass(frozen=True)
class Stock:
    """A stock snapshot: the lines, and each SKU's category (for category floors, reserves)."""

    lines: Sequence[StockLine]
    categories: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sales:
    """Units sold per (sku, store) over the last ``days`` days: the sales velocity."""

    units: Mapping[tuple[str, str], int] = field(default_factory=dict)
    days: int = 28


NO_SALES = Sales()


@dataclass(frozen=True, slots=True)
class Step:
    """Units one rule removed from what a marketplace is offered of one SKU."""

    rule: str
    units: int


@dataclass(frozen=True, slots=True)
class Offer:
    """What one marketplace is offered of one SKU, and why."""

    sku: str
    marketplace: str
    quantity: int
    on_hand: int
    steps: tuple[Step, ...]
    stores: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Allocation:
    """Every offer, by (sku, marketplace), under one rules version at one time."""

    rules_version: int
    at: datetime
    offers: Mapping[tuple[str, str], Offer]

    def quantity(self, sku: str, marketplace: str) -> int:
        """The quantity offered (0 for a SKU the snapshot does not hold)."""
        offer = self.offers.get((sku, marketplace))
        return 0 if offer is None else offer.quantity
