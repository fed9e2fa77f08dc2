"""Benchmark of the consistency check (issue 16, with issue 13's check): one snapshot page
compared with the hub's figures, as a node's history of moves grows.

    python -m bench check

A PostgreSQL database of its own (made and dropped); one node's moves over ``SKUS`` SKUs are
added by the server (``generate_series``; the trigger of migration 0040 keeps the node's running
figures as for any insert) up to each size of ``SIZES``: a store selling 3,000 units a day
holds about a million after a year. At each size, the hub's figures for a page of every SKU
and for a page of a tenth of them (``hub.inventory.check.hub_figures``, the part of a page's
check that reads the database), beside the statement it replaced (the sum of all the node's
moves up to the page's seq). Prints figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from sqlalchemy import Connection, func, select

from hub.inventory.check import hub_figures
from hub.storage.engine import make_engine, reading
from hub.storage.migrations import upgrade
from hub.storage.tables.inventory import stock_moves
from protocol import StockSnapshot
from tests.support.databases import pg_database

SIZES = (10_000, 100_000, 1_000_000)
SKUS, RUNS, AFTER = 500, 7, 20  # SKUs, runs a figure, moves booked after the page's count


def _whole_history(conn: Connection, page: StockSnapshot) -> int:
    """What the check ran before migration 0040: every move of the node up to the page's seq,
    summed by SKU and state (to and from), in the page's range."""
    m = stock_moves.c
    found = 0
    for column in (m.to_state, m.from_state):
        where = [m.store_id == "s1", m.node_id == "n1", m.seq <= page.as_of_seq,
                 column.is_not(None)]
        if page.last_sku is not None:
            where.append(m.sku.collate("C") <= page.last_sku)
        found += len(conn.execute(select(m.sku, column, func.sum(m.quantity)).where(*where)
                                  .group_by(m.sku, column)).all())
    return found


def _median_ms(run: Callable[[Connection], object], engine_url: str) -> float:
    engine = make_engine(engine_url)
    try:
        times = []
        for _ in range(RUNS):
            with reading(engine) as conn:
                started = time.perf_counter()
                run(conn)
                times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)
    finally:
        engine.dispose()


def _grow(url: str, first: int, last: int) -> None:
    """Moves ``first``..``last`` of s1/n1: two in three add a unit, one in three sells one."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO stock_moves (store_id, node_id, seq, move_id, sku, quantity,"
                " from_state, to_state, reason, at, applied_at) SELECT 's1', 'n1', g, 'M' || g,"
                " 'SKU-' || lpad((g %% %s)::text, 4, '0'), 1,"
                " CASE WHEN g %% 3 = 0 THEN 'sellable' END,"
                " CASE WHEN g %% 3 <> 0 THEN 'sellable' END,"
                " CASE WHEN g %% 3 = 0 THEN 'pos_sale' ELSE 'count' END, now(), now()"
                " FROM generate_series(%s::bigint, %s::bigint) AS g", (SKUS, first, last))
            conn.exec_driver_sql("ANALYZE stock_moves")
    finally:
        engine.dispose()


def main() -> None:
    """Grow one node's history and time a page's figures at each size."""
    print(f"one node, {SKUS} SKUs; a page's figures as of {AFTER} moves before the latest "
          f"(median of {RUNS})", flush=True)
    for url in pg_database():
        upgrade(url)
        held = 0
        for size in SIZES:
            _grow(url, held + 1, size)
            held = size
            whole = StockSnapshot.model_construct(as_of_seq=size - AFTER, after_sku=None,
                                                  last_sku=None)
            tenth = StockSnapshot.model_construct(as_of_seq=size - AFTER, after_sku=None,
                                                  last_sku=f"SKU-{SKUS // 10 - 1:04d}")
            for name, page in (("every SKU", whole), ("a tenth", tenth)):
                now = _median_ms(lambda c, p=page: hub_figures(c, "s1", "n1", p), url)
                before = _median_ms(lambda c, p=page: _whole_history(c, p), url)
                print(f"  {size:>9,} moves, a page of {name:<9}  {now:8.1f} ms"
                      f"   (the sum of the history: {before:8.1f} ms)", flush=True)
