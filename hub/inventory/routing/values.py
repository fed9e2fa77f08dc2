"""Plain values the routing engine reads and returns: the order, the stores, their stock, the
decision with its reasons.

Rules:
- everything is frozen; quantities are whole units; times are aware UTC instants, dates are the
  store's local dates;
- an ``Order``'s lines hold one entry per SKU (``order_lines`` sums duplicates);
- a ``Decision`` explains itself: ``verdicts`` holds one entry per store considered (every store
  holding a usable unit of the order), in store id order, each either dropped (with why) or
  ranked (with its rank, fill, ship date, distance); ``idle`` counts the other stores, which hold
  none of it above the safety floor;
  ``packages`` is empty exactly when ``status`` is ``unroutable``, and then ``reasons`` says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from hub.inventory.store_records import StoreRecord


class Status(StrEnum):
    """How an order stands after routing."""

    ROUTED = "routed"  # one store ships the whole order
    SPLIT = "split"  # more than one package, each from its own store
    UNROUTABLE = "unroutable"  # no store (or allowed split) can fill it
    MANUAL = "manual"  # a manager chose the store by hand


@dataclass(frozen=True, slots=True)
class Line:
    """A SKU and how many units of it."""

    sku: str
    quantity: int


def order_lines(items: Iterable[tuple[str, int]]) -> tuple[Line, ...]:
    """One line per SKU (quantities of a SKU given twice are added), in SKU order."""
    total: dict[str, int] = {}
    for sku, quantity in items:
        if quantity < 1:
            raise ValueError(f"{sku}: a line orders at least one unit")
        total[sku] = total.get(sku, 0) + quantity
    return tuple(Line(sku, total[sku]) for sku in sorted(total))


@dataclass(frozen=True, slots=True)
class Destination:
    """Where the order goes: country, postal code, and its centroid when the table knows it."""

    country: str
    postal_code: str
    latitude: float | None = None
    longitude: float | None = None

    @property
    def located(self) -> bool:
        """True when the postal code's centroid is known."""
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True, slots=True)
class Order:
    """An order to route: its marketplace, destination, lines, and stores that gave it back."""

    order_id: str
    marketplace_id: str
    destination: Destination
    lines: tuple[Line, ...]
    excluded: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Site:
    """A store as routing sees it: its record and the packages it already ships per local date.

    ``memo`` keeps what the engine derives from the record alone (coordinates as floats, the
    days it can ship at a given time), so that routing many orders derives it once per store."""

    store_id: str
    record: StoreRecord
    load: Mapping[date, int] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Usable:
    """One SKU at one store: sellable units, the safety floor kept back, what routing may use."""

    sellable: int
    floor: int
    floor_rule: str

    @property
    def units(self) -> int:
        """Units routing may take: sellable above the floor, never below zero."""
        return max(self.sellable - self.floor, 0)


@dataclass(frozen=True)
class RoutingStock:
    """Usable units per (sku, store); a pair not held means nothing there."""

    usable: Mapping[tuple[str, str], Usable]
    _units: dict[tuple[str, str], int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        units = {key: u.units for key, u in self.usable.items() if u.units}
        object.__setattr__(self, "_units", units)

    def units(self, sku: str, store: str) -> int:
        """Units routing may take of ``sku`` at ``store``."""
        return self._units.get((sku, store), 0)

    def holders(self, skus: Iterable[str]) -> set[str]:
        """Stores with a usable unit of at least one of ``skus``."""
        wanted = frozenset(skus)
        return {store for sku, store in self._units if sku in wanted}


@dataclass(frozen=True, slots=True)
class Package:
    """What one store ships of the order, and the store's local date it ships."""

    store_id: str
    ship_date: date
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What routing made of one store: dropped (``dropped`` says why) or ranked."""

    store_id: str
    dropped: str | None = None
    rank: int | None = None
    fills: int = 0
    ship_date: date | None = None
    distance_km: float | None = None
    group: int | None = None
    note: str = ""
    # days from the store's own local today to ``ship_date`` (0: today): what ranking compares,
    # since stores in other time zones may be on another calendar date at the same instant
    days_out: int | None = None


@dataclass(frozen=True)
class Decision:
    """Where an order goes and why."""

    order_id: str
    status: Status
    packages: tuple[Package, ...]
    reasons: tuple[str, ...]
    verdicts: tuple[Verdict, ...]
    rules_version: int
    idle: int = 0

    @property
    def stores(self) -> tuple[str, ...]:
        """The stores that ship it, in package order."""
        return tuple(p.store_id for p in self.packages)

    def as_json(self) -> dict[str, Any]:
        """The decision as stored and answered (dates ISO, distances to 0.1 km)."""
        return {
            "order_id": self.order_id,
            "status": self.status.value,
            "rules_version": self.rules_version,
            "packages": [{"store_id": p.store_id, "ship_date": p.ship_date.isoformat(),
                          "lines": [{"sku": li.sku, "quantity": li.quantity} for li in p.lines]}
                         for p in self.packages],
            "reasons": list(self.reasons),
            "stores": [_verdict_json(v) for v in self.verdicts],
            "stores_without_stock": self.idle,
        }


def _verdict_json(v: Verdict) -> dict[str, Any]:
    return {
        "store_id": v.store_id,
        "dropped": v.dropped,
        "rank": v.rank,
        "fills": v.fills,
        "ship_date": v.ship_date.isoformat() if v.ship_date else None,
        "distance_km": None if v.distance_km is None else round(v.distance_km, 1),
        "group": v.group,
        "note": v.note,
    }
