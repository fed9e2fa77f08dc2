"""Benchmark of the exports (the finance issue): a month's DATEV export of 200,000 bookings
(target <= 10 s), from a seeded SQLite hub database, and its parts.

Prints figures beside their targets; asserts nothing. Seeds, in a temporary directory, one
entity's November 2026: 170,000 Amazon order lines in four marketplaces (a tenth in pounds,
converted on their day from stored ECB quotes) and 30,000 paid refunds (their base amounts
converted by the pass first, as the API and the CLI do), then times
``hub.finance.exports.files.make(..., "datev", ...)`` end to end, and the pure writer alone.
Run: ``python -m bench exports``.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from hub.finance import entities
from hub.finance.exports import datev, files
from hub.finance.exports.facts import parse_period
from hub.finance.exports.store import facts
from hub.finance.fx_amounts_store import convert_pending
from hub.storage.engine import make_engine, writing
from hub.storage.migrations import upgrade
from hub.storage.tables.amazon import amazon_orders
from hub.storage.tables.core import refunds, returns, stores
from hub.storage.tables.finance import fx_rates

SALES, REFUNDS, TARGET_S = 170_000, 30_000, 10.0
MARKETS = {
    "A1PA6795UKMFR9": "DE",
    "A13V1IB3VIYZZH": "FR",
    "APJ6JRA9NG5V4": "IT",
    "A1F83G8C2ARO7P": "GB",
}
ENTITIES = f"""
version: 2
name: bench
entities:
  - id: bench
    name: Bench GmbH
    country: DE
    base_currency: EUR
    stores: [s1]
    marketplaces: {{{", ".join(f"{k}: {v}" for k, v in MARKETS.items())}}}
    oss: true
    vat_rates: {{DE: 19, FR: 20, IT: 22}}
    datev: {{consultant: 1001, client: 1}}
"""
START = datetime(2026, 11, 1, tzinfo=UTC)


def _moment(rng: random.Random) -> datetime:
    return START + timedelta(seconds=rng.randrange(30 * 86_400))


def _sales(rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    markets = list(MARKETS)
    for n in range(SALES):
        market = markets[n % 4] if n % 10 else "A1F83G8C2ARO7P"
        currency = "GBP" if market == "A1F83G8C2ARO7P" else "EUR"
        when = _moment(rng)
        price = f"{rng.randint(100, 9999) / 100:.2f}"
        rows.append(
            {
                "account": "a",
                "order_id": f"o-{n}",
                "marketplace_id": market,
                "status": "SHIPPED",
                "fulfilled_by": "MERCHANT",
                "purchased_at": when,
                "last_updated_at": when,
                "currency": currency,
                "content_hash": "0" * 64,
                "first_seen_at": when,
                "updated_at": when,
                "items": [
                    {
                        "order_item_id": f"i-{n}",
                        "sku": f"SKU-{n % 500}",
                        "quantity": 1 + n % 3,
                        "unit_price": price,
                        "currency": currency,
                    }
                ],
            }
        )
    return rows


def seed(engine: Engine) -> None:
    """The bench month (see the module docstring)."""
    rng = random.Random(15)
    with writing(engine) as tx:
        entities.publish(tx, ENTITIES, "bench", "admin")
    with engine.begin() as conn:
        conn.execute(stores.insert().values(store_id="s1", name="s1", created_at=START))
        conn.execute(
            fx_rates.insert(),
            [
                {
                    "currency": "GBP",
                    "day": date(2026, 10, 31) + timedelta(days=d),
                    "per_euro": f"0.{8400 + d}",
                    "source": "bench",
                    "recorded_at": START,
                }
                for d in range(31)
            ],
        )
        rows = _sales(rng)
        for at in range(0, len(rows), 10_000):
            conn.execute(amazon_orders.insert(), rows[at : at + 10_000])
        made, paid = [], []
        for n in range(REFUNDS):
            when = _moment(rng)
            market = list(MARKETS)[n % 4]
            made.append(
                {
                    "store_id": "s1",
                    "return_id": f"R{n}",
                    "node_id": "n1",
                    "state": "received",
                    "channel": "amazon",
                    "reason": "",
                    "marketplace_id": market,
                    "mismatch": False,
                    "received_at": when,
                    "created_at": when,
                    "updated_at": when,
                }
            )
            paid.append(
                {
                    "store_id": "s1",
                    "refund_id": f"rf{n}",
                    "return_id": f"R{n}",
                    "node_id": "n1",
                    "origin": "store",
                    "amount": Decimal(rng.randint(100, 5000)) / 100,
                    "currency": "GBP" if market == "A1F83G8C2ARO7P" else "EUR",
                    "channel": "amazon",
                    "order_id": f"o-{n}",
                    "marketplace_id": market,
                    "state": "settled",
                    "reasons": [],
                    "requested_at": when,
                    "decided_at": when,
                    "created_at": when,
                    "updated_at": when,
                }
            )
        conn.execute(returns.insert(), made)
        conn.execute(refunds.insert(), paid)


def main() -> None:
    """Seed, convert, export; print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            started = time.perf_counter()
            seed(engine)
            print(
                f"seeded {SALES:,} order lines and {REFUNDS:,} refunds in "
                f"{time.perf_counter() - started:.1f} s"
            )
            started = time.perf_counter()
            convert_pending(engine, use_bundle=False)
            print(f"base amounts of {REFUNDS:,} refunds: {time.perf_counter() - started:.2f} s")
            now = datetime(2026, 12, 1, tzinfo=UTC)
            started, cpu = time.perf_counter(), time.process_time()
            made = files.make(engine, "datev", "bench", "2026-11", now, use_bundle=False)
            took, cpu = time.perf_counter() - started, time.process_time() - cpu
            verdict = "ok" if took <= TARGET_S and made.rows == SALES + REFUNDS else "MISSED"
            # the wall time counts other work on a shared machine; the CPU time is this export's
            print(
                f"DATEV export of {made.rows:,} bookings ({len(made.data) / 1e6:.1f} MB): "
                f"{took:.2f} s (target <= {TARGET_S:.0f} s) {verdict}; {cpu:.2f} s of CPU, "
                f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
            )
            entity, found = facts(engine, "bench", parse_period("2026-11"), False, False)
            started = time.perf_counter()
            datev.write(entity, parse_period("2026-11"), datev.bookings(entity, found), now)
            print(
                f"  of which the pure writer (bookings + file): "
                f"{time.perf_counter() - started:.2f} s"
            )
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
