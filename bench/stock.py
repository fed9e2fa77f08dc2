"""Benchmarks of the store's stock ledger (issue 13): a stock move, durable, at the POS.

A real ``acorn-edge run`` (no broker: every move waits in the outbox, as offline); each POS sale
and each count is answered only after its transaction (moves, levels, audit, outbox event) is on
disk (``synchronous=FULL``). Also the ledger alone, in this process, without HTTP. Prints figures
beside their targets; asserts nothing.

    python -m bench stock
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.counter import BIN
from bench.spine import pct, row
from edge_agent.stock.ledger import Ledger
from edge_agent.stock.models import CountLine, CountRequest, SaleLine, SaleRequest
from edge_agent.storage import outbox
from edge_agent.storage.journal import Journal
from edge_agent.storage.store import Store
from hub.fleet.local_broker import free_port
from protocol import MoveReason, StockMoved, StockState, utc_now
from tests.support.procs import Proc

SKUS = 200


def agent(tmp: Path) -> Proc:
    """An ``acorn-edge run`` without broker, devices or staff."""
    port = free_port()
    env = {"ACORN_EDGE_STORE_ID": "bench-store", "ACORN_EDGE_NODE_ID": "pos-1",
           "ACORN_EDGE_DATA_DIR": str(tmp / "edge"), "ACORN_EDGE_HTTP_PORT": str(port),
           "ACORN_EDGE_MQTT_PORT": str(free_port()), "ACORN_EDGE_LOG_LEVEL": "WARNING"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACORN_")} | env
    return Proc("edge", [str(BIN / "acorn-edge"), "run"], env, port, tmp / "edge.log")


def over_http(edge: Proc, sales: int) -> tuple[list[float], list[float]]:
    """POS sales of one line and per-SKU counts through the API; each answer's latency (ms)."""
    sold, counted = [], []
    with httpx.Client(base_url=edge.url, timeout=10) as client:
        client.post("/api/stock/counts", json={"count_id": "open", "lines": [
            {"sku": f"SKU-{n}", "quantity": 10_000} for n in range(SKUS)]}).raise_for_status()
        for n in range(sales):
            started = time.perf_counter()
            client.post("/api/pos/sales", json={
                "pos_transaction_id": f"till-1-{n}",
                "lines": [{"sku": f"SKU-{n % SKUS}", "qty": 1}]}).raise_for_status()
            sold.append((time.perf_counter() - started) * 1000)
        for n in range(sales // 4):
            started = time.perf_counter()
            client.post("/api/stock/counts", json={
                "count_id": f"c-{n}", "lines": [{"sku": f"SKU-{n % SKUS}",
                                                 "quantity": 5_000 + n}]}).raise_for_status()
            counted.append((time.perf_counter() - started) * 1000)
    return sold, counted


def in_process(tmp: Path, sales: int) -> list[float]:
    """The ledger alone: ``record_sale`` on the node's SQLite, durable, no HTTP (ms)."""
    (tmp / "alone").mkdir()
    store = Store.open(tmp / "alone" / "edge.db", "bench-store", "pos-2")
    store.journal, _ = Journal.open(tmp / "alone")
    ledger = Ledger(store, "bench-store", "pos-2")
    took = []
    try:
        ledger.record_count(CountRequest(count_id="open", lines=[
            CountLine(sku=f"SKU-{n}", quantity=10_000) for n in range(SKUS)]))
        for n in range(sales):
            request = SaleRequest(pos_transaction_id=f"t-{n}",
                                  lines=[SaleLine(sku=f"SKU-{n % SKUS}", qty=1)])
            started = time.perf_counter()
            ledger.record_sale(request)
            took.append((time.perf_counter() - started) * 1000)
    finally:
        store.close()
    return took


def floor(tmp: Path, rounds: int) -> list[float]:
    """One outbox event and nothing else, as durable as a move (the WAL commit's and the outbox
    journal's fsync): what any recorded fact costs on this disk (ms)."""
    (tmp / "floor").mkdir()
    store = Store.open(tmp / "floor" / "edge.db", "bench-store", "pos-3")
    store.journal, _ = Journal.open(tmp / "floor")
    body = StockMoved(move_id="M0", sku="SKU-0", quantity=1, from_state=StockState.SELLABLE,
                      reason=MoveReason.POS_SALE, at=utc_now())
    took = []
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            with store.write() as tx:
                outbox.append(tx, "bench-store", "pos-3", body, utc_now())
            took.append((time.perf_counter() - started) * 1000)
    finally:
        store.close()
    return took


def main(sales: int = 2000) -> None:
    """Run the stock benchmarks and print the figures."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print("stock ledger (issue 13)", flush=True)
        edge = agent(tmp).start()
        try:
            sold, counted = over_http(edge, sales)
        finally:
            edge.stop()
        row("POS sale (1 line) answered durable over HTTP, p50",
            f"{statistics.median(sold):.2f} ms", "-")
        row("POS sale (1 line) answered durable over HTTP, p99", f"{pct(sold, 99):.2f} ms",
            "<= 10 ms")
        row("stock count (1 SKU, difference booked), p99", f"{pct(counted, 99):.2f} ms",
            "<= 10 ms")
        alone = in_process(tmp, sales)
        row("stock move in the ledger alone (no HTTP), p50",
            f"{statistics.median(alone):.2f} ms", "-")
        row("stock move in the ledger alone (no HTTP), p99", f"{pct(alone, 99):.2f} ms",
            "<= 10 ms")
        bare = floor(tmp, sales // 2)
        row("floor: one bare durable outbox event (2 fsyncs), p50",
            f"{statistics.median(bare):.2f} ms", "-")
        row("floor: one bare durable outbox event (2 fsyncs), p99", f"{pct(bare, 99):.2f} ms",
            "-")


if __name__ == "__main__":
    main()
