"""Benchmark of reason analytics (issue 15, point 1): 1,000,000 classified return lines on
PostgreSQL, the desk's filtered queries, p95 per query and over all.

Seeds a database of its own (made and dropped): 1,000 stores in 10 regions, 2,000 SKUs in 20
categories, a million lines over twelve months through ``COPY``, then runs each query the desk
sends (a breakdown by a dimension under a filter) ``RUNS`` times. Prints figures beside the
target (p95 <= 500 ms); asserts nothing.

Then the hub's classification pass over the same lines (each with its return and return line, as
the ingest stores them): a full pass with nothing to do, the incremental pass the hub runs
between full ones, both again with ``NEW`` returns just arrived, and an incremental pass after a
minute of returns at 5,000 a second (``SUSTAINED``): lines classified a second.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from sqlalchemy import Engine

from hub.access.permissions import Scope
from hub.finance.reasons import analytics
from hub.finance.reasons.analytics import Filters
from hub.finance.reasons.runner import MARGIN
from hub.finance.reasons.store import classify_pending
from hub.finance.reasons.taxonomy import TAXONOMY
from hub.storage.engine import make_engine, reading
from hub.storage.migrations import upgrade
from hub.storage.tables.core import return_items, returns
from protocol import utc_now
from tests.support.databases import pg_database

LINES, STORES, SKUS, RUNS = 1_000_000, 1_000, 2_000, 20
NEW = 2_000  # returns arriving between two passes
SUSTAINED = 300_000  # a minute of returns at 5,000 a second
TARGET_MS = 500.0
START = datetime(2025, 12, 1, tzinfo=UTC)


def seed(url: str) -> None:
    """Stores, catalogue and a million classified lines, loaded with COPY."""
    rng = random.Random(15)
    pairs = [(r, s) for r, subs in TAXONOMY.items() for s in subs]
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    now = datetime.now(UTC)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy("COPY stores (store_id, name, created_at, region, city) FROM STDIN") as cp:
            for i in range(STORES):
                cp.write_row((f"s{i:04d}", f"Store {i}", now, f"region-{i % 10}", f"city-{i % 50}"))
        with cur.copy("COPY catalogue_items (sku, category, updated_at, updated_by) "
                      "FROM STDIN") as cp:
            for i in range(SKUS):
                cp.write_row((f"SKU-{i:05d}", f"cat-{i % 20}", now, "bench"))
        columns = ("source, line_key, store_id, return_id, line_no, channel, marketplace_id, "
                   "sku, quantity, occurred_at, month, raw_reason, reason, sub_reason, method, "
                   "classified_at, counted")
        with cur.copy(f"COPY return_reasons ({columns}) FROM STDIN") as cp:
            for i in range(LINES):
                at = START + timedelta(seconds=rng.randrange(365 * 86400))
                reason, sub = rng.choice(pairs)
                store = f"s{rng.randrange(STORES):04d}"
                cp.write_row(("store", f"{store}/R{i}/1", store, f"R{i}", 1, "pos", None,
                              f"SKU-{int(rng.paretovariate(1.2)) % SKUS:05d}",
                              rng.randint(1, 3), at, at.strftime("%Y-%m"), "bench", reason, sub,
                              "rule", now, True))
        # each line's return and return line, as the ingest stores them (made by the server)
        cur.execute("INSERT INTO returns (store_id, return_id, node_id, state, channel, reason,"
                    " mismatch, received_at, created_at, updated_at) SELECT store_id, return_id,"
                    " 'n1', 'received', channel, raw_reason, false, occurred_at, occurred_at,"
                    " occurred_at FROM return_reasons")
        cur.execute("INSERT INTO return_items (store_id, return_id, line_no, sku, quantity,"
                    " unit_price, currency) SELECT store_id, return_id, line_no, sku, quantity,"
                    " 10.00, 'EUR' FROM return_reasons")
        cur.execute("DELETE FROM reason_queue")  # classified: as the pass leaves them
        conn.commit()
        cur.execute("ANALYZE")


def pct(values: list[float], q: int) -> float:
    """The q-th percentile."""
    return statistics.quantiles(values, n=100)[q - 1]


def main() -> None:
    """Seed, then time the desk's queries."""
    for url in pg_database():
        upgrade(url)
        started = time.perf_counter()
        seed(url)
        print(f"seeded {LINES:,} lines in {time.perf_counter() - started:.1f} s", flush=True)
        engine = make_engine(url)
        queries: dict[str, Callable[..., object]] = {
            "by category, a year": lambda c: analytics.breakdown(
                c, "category", Filters(month_from="2026-01", month_to="2026-11")),
            "by store, one region": lambda c: analytics.breakdown(
                c, "store", Filters(month_from="2026-01", region="region-3")),
            "by month, one reason": lambda c: analytics.breakdown(
                c, "month", Filters(reason="defective")),
            "by SKU, one category": lambda c: analytics.breakdown(
                c, "sku", Filters(month_from="2026-06", category="cat-7")),
            "by reason, a regional manager": lambda c: analytics.breakdown(
                c, "reason", Filters(scope=Scope(region="region-5"))),
            "SKU rates (stands out), a year": lambda c: analytics.rates(
                c, Filters(month_from="2026-01", month_to="2026-11")),
        }
        every: list[float] = []
        try:
            for name, query in queries.items():
                times = []
                for _ in range(RUNS):
                    with reading(engine) as conn:
                        t0 = time.perf_counter()
                        query(conn)
                        times.append((time.perf_counter() - t0) * 1000)
                every += times
                print(f"  {name:32s} p50 {statistics.median(times):7.1f} ms  "
                      f"p95 {pct(times, 95):7.1f} ms", flush=True)
            print(f"reason analytics over {LINES:,} lines on PostgreSQL: p95 "
                  f"{pct(every, 95):.1f} ms over {len(every)} queries (target <= "
                  f"{TARGET_MS:.0f} ms)", flush=True)
            passes(engine)
        finally:
            engine.dispose()


def passes(engine: Engine) -> None:
    """The classification pass over the million lines: full and incremental, at rest and with
    ``NEW`` returns just arrived."""
    def timed(label: str, since: datetime | None) -> None:
        t0 = time.perf_counter()
        done = classify_pending(engine, since=since)
        print(f"  {label:44s} {(time.perf_counter() - t0) * 1000:8.1f} ms  "
              f"({sum(done.values()):,} classified)", flush=True)

    print(f"the classification pass over {LINES:,} classified lines:", flush=True)
    for run in range(3):
        timed(f"full, nothing to do (run {run + 1})", None)
        timed(f"incremental, nothing to do (run {run + 1})", utc_now() - MARGIN)
    for label, since in (("full", None), ("incremental", utc_now() - MARGIN)):
        now = utc_now()
        with engine.begin() as conn:
            conn.execute(returns.insert(), [
                {"store_id": "s0001", "return_id": f"N-{label}-{i}", "node_id": "n1",
                 "state": "received", "channel": "pos", "reason": "does not work",
                 "mismatch": False, "received_at": now, "created_at": now, "updated_at": now}
                for i in range(NEW)])
            conn.execute(return_items.insert(), [
                {"store_id": "s0001", "return_id": f"N-{label}-{i}", "line_no": 1,
                 "sku": "SKU-00001", "quantity": 1, "unit_price": Decimal("10.00"),
                 "currency": "EUR"} for i in range(NEW)])
        timed(f"{label}, {NEW:,} new returns", since)
    # a minute at 5,000 returns a second: all of them inside the incremental pass's window
    with engine.begin() as conn:
        for table, columns, values in (
                ("returns", "store_id, return_id, node_id, state, channel, reason, mismatch, "
                 "received_at, created_at, updated_at",
                 "'s0002', 'M-' || g, 'n1', 'received', 'pos', 'does not work', false, now(), "
                 "now(), now()"),
                ("return_items", "store_id, return_id, line_no, sku, quantity, unit_price, "
                 "currency", "'s0002', 'M-' || g, 1, 'SKU-00001', 1, 10.00, 'EUR'")):
            conn.exec_driver_sql(f"INSERT INTO {table} ({columns}) SELECT {values} "
                                 f"FROM generate_series(1, {SUSTAINED}) AS g")
    t0 = time.perf_counter()
    done = classify_pending(engine, since=utc_now() - MARGIN)
    seconds = time.perf_counter() - t0
    print(f"  {'incremental, a minute at 5,000 returns/s':44s} {seconds * 1000:8.1f} ms  "
          f"({sum(done.values()):,} classified: {sum(done.values()) / seconds:,.0f} lines/s;"
          f" target >= 5,000)", flush=True)


if __name__ == "__main__":
    main()
