"""Benchmark of the allocation engine (the inventory issue): 50,000 SKUs over 1,000 stores.

Prints figures beside their targets; asserts nothing. Pure CPU: no broker, no database.
Stock is sparse as a chain's is: most SKUs sit in a few stores, a few in hundreds (a long-tail
draw, about 12 stores per SKU on average, ~600,000 stock lines). The rules use every rule type:
floors by default, category, store and SKU; three marketplaces (one multi-location, one with
excluded stores and caps); an in-store and a channel reserve; priority groups with slow movers.
Run: ``.venv/bin/python -m bench allocation``.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

from hub.inventory.allocation import (
    Sales,
    Stock,
    StockLine,
    allocate,
    compile_text,
    simulate,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SKUS, STORES = 50_000, 1_000
TARGET_S = 10.0
CATEGORIES = ["electronics", "toys", "apparel", "home", "media"]

RULES = """
schema_version: 1
version: {version}
name: bench
safety_stock:
  default: 1
  categories: {{electronics: 2, media: 0}}
  stores: {{store-0001: 3, store-0002: 3}}
  skus: [{{sku: SKU-000001, floor: 5}}, {{sku: SKU-000002, store: store-0003, floor: 4}}]
marketplaces:
  ATVPDKIKX0DER: {{share_percent: {share}, multi_location: true, cap: 40}}
  A1PA6795UKMFR9:
    share_percent: 50
    cap: 200
    excluded_stores: [store-0010, store-0011, store-0012]
    sku_caps: {{SKU-000003: 2}}
  A1F83G8C2ARO7P: {{share_percent: 70}}
reserves:
  - {{name: walk_in, for: in_store, quantity: 1, categories: [toys]}}
  - {{name: holiday_us, for: ATVPDKIKX0DER, quantity: 2, categories: [electronics],
      starts: 2026-11-27T00:00:00Z, ends: 2026-12-01T00:00:00Z}}
location_priority:
  groups: [[store-0001, store-0002, store-0003], [store-0004, store-0005]]
  consume_slow_movers_first: true
"""


def seeded_stock(seed: int = 13) -> tuple[Stock, Sales]:
    """A sparse chain's stock and 28 days of sales, the same for the same seed."""
    rng = random.Random(seed)
    stores = [f"store-{n:04d}" for n in range(STORES)]
    lines: list[StockLine] = []
    sold: dict[tuple[str, str], int] = {}
    categories: dict[str, str] = {}
    for n in range(SKUS):
        sku = f"SKU-{n:06d}"
        categories[sku] = CATEGORIES[n % len(CATEGORIES)]
        spread = min(STORES, int(rng.paretovariate(1.2) * 3))
        for store in rng.sample(stores, spread):
            on_hand = rng.randint(-1, 30)
            lines.append(StockLine(sku, store, on_hand, rng.randint(0, 2), rng.randint(0, 1)))
            if rng.random() < 0.3:
                sold[(sku, store)] = rng.randint(1, 40)
    return Stock(lines, categories), Sales(sold, 28)


def main() -> None:
    """Allocate once (and simulate a draft) over the seeded stock; print the figures."""
    stock, sales = seeded_stock()
    rules = compile_text(RULES.format(version=1, share=80))
    started = time.perf_counter()
    allocation = allocate(stock, rules, sales, NOW)
    took = time.perf_counter() - started
    units = sum(offer.quantity for offer in allocation.offers.values())
    print(f"allocation: {SKUS:,} SKUs x {STORES:,} stores, {len(stock.lines):,} stock lines, "
          f"{len(allocation.offers):,} offers ({units:,} units): {took:.2f} s "
          f"(target <= {TARGET_S:.0f} s)")
    draft = compile_text(RULES.format(version=2, share=60))
    started = time.perf_counter()
    report = simulate(draft, rules, stock, sales, NOW)
    took = time.perf_counter() - started
    print(f"simulation of a draft (both versions, compared): {took:.2f} s, "
          f"{report.changed:,} offers change")
