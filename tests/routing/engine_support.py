"""Builders for the routing engine tests: stores, orders, stock, rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hub.inventory.routing import (
    Destination,
    Order,
    RoutingRules,
    RoutingStock,
    Site,
    Usable,
    load_routing_yaml,
    order_lines,
)
from hub.inventory.store_records import StoreRecord

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OPEN = [{"opens": "09:00", "closes": "18:00"}]
# Real city centres (decimal degrees), so distances mean something.
PLACES = {
    "koeln": ("50.937500", "6.960300", "DE", "Europe/Berlin"),
    "duesseldorf": ("51.227700", "6.773500", "DE", "Europe/Berlin"),
    "bonn": ("50.737400", "7.098200", "DE", "Europe/Berlin"),
    "muenchen": ("48.137400", "11.575500", "DE", "Europe/Berlin"),
    "wien": ("48.208200", "16.373800", "AT", "Europe/Vienna"),
    "london": ("51.507400", "-0.127800", "GB", "Europe/London"),
}
KOELN_50667 = Destination("DE", "50667", 50.9381, 6.9561)


def record(place: str, *, ship: bool = True, days: tuple[str, ...] = WEEK,
           exceptions: tuple[dict[str, Any], ...] = (), **extra: Any) -> StoreRecord:
    """A store record at ``place``, open 09:00-18:00 on ``days``."""
    lat, lon, country, zone = PLACES[place]
    data: dict[str, Any] = {
        "address": {"street": "Markt 1", "postal_code": "00000", "city": place,
                    "country": country},
        "coordinates": {"latitude": Decimal(lat), "longitude": Decimal(lon)},
        "time_zone": zone,
        "hours": {day: OPEN for day in days},
        "exceptions": list(exceptions),
        "capabilities": {"ship_from_store": ship},
    }
    data.update(extra)
    return StoreRecord.model_validate(data)


def site(store_id: str, place: str, load: dict[date, int] | None = None,
         **kwargs: Any) -> Site:
    """A store at ``place`` with ``load`` packages already planned per local date."""
    return Site(store_id, record(place, **kwargs), load or {})


def stock(*entries: tuple[str, str, int], floor: int = 0) -> RoutingStock:
    """Usable stock from (sku, store, sellable) triples, each with the same floor."""
    return RoutingStock({(sku, store): Usable(units, floor, "safety_stock.default")
                         for sku, store, units in entries})


def order(*items: tuple[str, int], dest: Destination = KOELN_50667,
          marketplace: str = "A1PA6795UKMFR9", excluded: frozenset[str] = frozenset()) -> Order:
    """An order to ``dest`` for ``items``."""
    return Order("302-0000001-0000001", marketplace, dest, order_lines(items), excluded)


def rules(**fields: Any) -> RoutingRules:
    """Rules with the defaults of the format, changed by ``fields``."""
    base: dict[str, Any] = {"schema_version": 1, "version": 7, "name": "test",
                            "max_packages": 1, "horizon_days": 3}
    base.update(fields)
    return RoutingRules.model_validate(base)


def rules_text(text: str) -> RoutingRules:
    """Rules from YAML text."""
    return load_routing_yaml(text)
