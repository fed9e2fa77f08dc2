"""Benchmark of the routing engine (the OMO issue): 10,000 orders over 1,000 stores.

Prints figures beside their targets; asserts nothing. Pure CPU: no database. The stores are
spread over the continental US (seeded positions, all open 08:00-20:00 in their zone, every
capability); 5,000 SKUs sit sparsely as a chain's do (a long-tail draw, about 12 stores per
SKU); each order has 1-3 lines and goes to a postal code of the shipped centroid table. Each
order's usable stock is built from the stock index (as the hub's service does per order), then
routed under rules that split into two packages and rank by priority groups. Capacity is
booked as the orders are routed, as the service does within a batch.
Run: ``.venv/bin/python -m bench routing``.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

from hub.inventory.allocation import Stock, StockLine, compile_text, default_rules_text
from hub.inventory.routing import (
    Destination,
    Order,
    Site,
    load_routing_yaml,
    order_lines,
    route,
    routing_stock,
)
from hub.inventory.routing.geo import shipped_table
from hub.inventory.store_records import StoreRecord

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # a Monday: 09:00 in Chicago, 07:00 in LA
ORDERS, STORES, SKUS = 10_000, 1_000, 5_000
TARGET_S = 5.0
ZONES = [(-87.0, "America/New_York"), (-102.0, "America/Chicago"), (-115.0, "America/Denver"),
         (-180.0, "America/Los_Angeles")]  # (westmost longitude, zone), roughly
RULES = """schema_version: 1
version: 1
name: bench
max_packages: 2
priority_groups: [[store-0001, store-0002, store-0003], [store-0004, store-0005]]
capacity: {default: 40}
"""


def _zone(lon: float) -> str:
    """The US zone of a longitude, roughly."""
    return next(zone for west, zone in ZONES if lon >= west)


def _sites(rng: random.Random) -> dict[str, Site]:
    hours = [{"opens": "08:00", "closes": "20:00"}]
    sites = {}
    for n in range(STORES):
        lat, lon = rng.uniform(30.0, 47.0), rng.uniform(-122.0, -72.0)
        record = StoreRecord.model_validate({
            "address": {"street": "1 Main St", "postal_code": "00000", "city": "x",
                        "country": "US"},
            "coordinates": {"latitude": Decimal(f"{lat:.6f}"),
                            "longitude": Decimal(f"{lon:.6f}")},
            "time_zone": _zone(lon),
            "hours": {d: hours for d in ("mon", "tue", "wed", "thu", "fri", "sat")},
            "capabilities": {"ship_from_store": True}})
        store = f"store-{n:04d}"
        sites[store] = Site(store, record, {})
    return sites


def _stock(rng: random.Random, stores: list[str]) -> dict[str, list[StockLine]]:
    by_sku: dict[str, list[StockLine]] = {}
    for n in range(SKUS):
        sku = f"SKU-{n:06d}"
        spread = min(STORES, int(rng.paretovariate(1.2) * 3))
        by_sku[sku] = [StockLine(sku, store, rng.randint(-1, 30), rng.randint(0, 2),
                                 rng.randint(0, 1)) for store in rng.sample(stores, spread)]
    return by_sku


def main() -> None:
    """Route the seeded orders once; print the figures."""
    rng = random.Random(17)
    sites = _sites(rng)
    by_sku = _stock(rng, sorted(sites))
    codes = sorted((key, spot) for key, spot in shipped_table().items() if key[0] == "US")
    skus = sorted(by_sku)
    orders = []
    for n in range(ORDERS):
        (country, code), (lat, lon) = rng.choice(codes)
        lines = order_lines((rng.choice(skus), rng.randint(1, 2))
                            for _ in range(rng.choice((1, 1, 2, 3))))
        orders.append(Order(f"111-{n:07d}-0000000", "ATVPDKIKX0DER",
                            Destination(country, code, lat, lon), lines))
    floors = compile_text(default_rules_text())
    rules = load_routing_yaml(RULES)
    outcomes: Counter[str] = Counter()
    considered = 0
    started, cpu = time.perf_counter(), time.process_time()
    for order in orders:
        wanted = [li.sku for li in order.lines]
        usable = routing_stock(Stock([x for s in wanted for x in by_sku[s]]), floors, wanted)
        decision = route(order, sites, usable, rules, NOW)
        for package in decision.packages:  # book capacity, as the service does in a batch
            load = sites[package.store_id].load
            assert isinstance(load, dict)
            load[package.ship_date] = load.get(package.ship_date, 0) + 1
        outcomes[decision.status.value] += 1
        considered += len(decision.verdicts)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    lines = sum(len(v) for v in by_sku.values())
    print(f"routing: {ORDERS:,} orders over {STORES:,} stores ({lines:,} stock lines, "
          f"{considered / ORDERS:.1f} stores considered per order): {took:.2f} s "
          f"(CPU {cpu:.2f} s; target <= {TARGET_S:.0f} s); {dict(sorted(outcomes.items()))}")
    busiest = max((sum(s.load.values()), s.store_id) for s in sites.values())
    print(f"busiest store {busiest[1]}: {busiest[0]} packages (capacity 40 a day); "
          f"ship dates used: {sorted({d for s in sites.values() for d in s.load} - {date.min})}")
