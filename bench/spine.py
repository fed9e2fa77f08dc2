"""Benchmarks of the return spine (issue 2): drain rate, counter API latency, edge memory.

Prints figures beside their targets; asserts nothing. Runs real processes on loopback.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tests.support.broker import TestBroker
from tests.support.procs import Proc, edge_proc, hub_proc, wait_for


def pct(values: list[float], q: int) -> float:
    """The q-th percentile."""
    return statistics.quantiles(values, n=100)[q - 1]


def outbox(edge: Proc) -> int:
    return int(httpx.get(f"{edge.url}/api/health", timeout=5).json()["outbox_pending"])


def connected(edge: Proc) -> bool:
    return bool(httpx.get(f"{edge.url}/api/health", timeout=5).json()["broker_connected"])


def post_returns(edge: Proc, count: int, refund: bool, every: float = 0.0) -> list[float]:
    """POST returns one by one (one every ``every`` seconds, or flat out); latencies in ms."""
    latencies = []
    next_at = time.perf_counter()
    with httpx.Client(base_url=edge.url, timeout=10) as client:
        for n in range(count):
            next_at += every
            time.sleep(max(0.0, next_at - time.perf_counter()))
            body = {
                "channel": "pos",
                "reason": "bench",
                "request_refund": refund,
                "items": [
                    {
                        "sku": f"SKU-{n % 50}",
                        "quantity": 1,
                        "unit_price": {"amount": "12.50", "currency": "USD"},
                    }
                ],
            }
            started = time.perf_counter()
            answer = client.post("/api/returns", json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 201:
                raise RuntimeError(f"return refused: {answer.status_code} {answer.text}")
    return latencies


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def row(name: str, value: str, target: str) -> None:
    print(f"  {name:<52} {value:>14}   target {target}", flush=True)


def main(events: int = 10_000) -> None:
    """Run the spine benchmarks and print the figures."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        broker = TestBroker(tmp / "mosquitto")
        hub = hub_proc(tmp, broker.hub_creds())
        edge = edge_proc(tmp, "bench-store", "n1", broker.node_creds("bench-store", "n1"))
        try:
            hub.start()
            edge.start()
            print("return spine (issue 2)", flush=True)
            time.sleep(5)
            row("edge agent idle, resident memory", f"{rss_mb(edge.popen.pid):.1f} MB", "<= 80 MB")
            # a busy counter: 20 returns a second, each synced to the hub while the next comes
            latencies = post_returns(edge, 2000, refund=True, every=0.05)
            p50 = statistics.median(latencies)
            row("record a return via local API (20/s), p50", f"{p50:.2f} ms", "-")
            row("record a return via local API (20/s), p99", f"{pct(latencies, 99):.2f} ms",
                "<= 10 ms")
            # flat out: every answer overlaps the sync of the one before (a stress figure)
            latencies = post_returns(edge, 2000, refund=True)
            row("record a return, back to back, p50", f"{statistics.median(latencies):.2f} ms", "-")
            row("record a return, back to back, p99", f"{pct(latencies, 99):.2f} ms", "-")
            wait_for(lambda: outbox(edge) == 0, 120, "warm-up drain")
            broker.stop()
            post_returns(edge, events, refund=False)
            pending = outbox(edge)
            started = time.perf_counter()
            broker.start()
            wait_for(lambda: connected(edge), 60, "edge to reconnect", interval=0.01)
            linked = time.perf_counter()
            wait_for(lambda: outbox(edge) == 0, 300, "drain", interval=0.02)
            done = time.perf_counter()
            seconds = done - linked
            row("edge reconnect after the broker is back", f"{linked - started:.2f} s", "-")
            row(f"{pending} buffered events drained to hub-confirmed", f"{seconds:.2f} s", "<= 5 s")
            row("drain rate", f"{pending / seconds:,.0f} ev/s", ">= 2,000 ev/s")
        finally:
            edge.stop()
            hub.stop()
            broker.kill()
