"""Outages and crashes: nothing recorded at a counter is lost or duplicated.

Each test makes the failure really happen: the broker process is stopped, the edge agent or the hub
is killed with SIGKILL in the middle of moving a backlog, and the system is then left to recover.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from contextlib import closing
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import System, a_return
from tests.support.http_calls import http_get
from tests.support.procs import Proc, wait_for


def health(proc: Proc) -> dict[str, Any]:
    return dict(http_get(f"{proc.url}/api/health", timeout=5).json())


def record_returns(edge: Proc, count: int, refund: bool = True) -> tuple[list[str], list[float]]:
    """POST ``count`` returns; return their ids in order and each answer's latency (ms)."""
    ids: list[str] = []
    latencies: list[float] = []
    with httpx.Client(base_url=edge.url, timeout=10) as client:
        for n in range(count):
            body = a_return(n) | {"request_refund": refund}
            started = time.perf_counter()
            answer = client.post("/api/returns", json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["return_id"])
    return ids, latencies


def assert_exactly_once_in_order(system: System, store: str, ids: list[str]) -> None:
    """The hub holds every event of the node once, seq 1..N, returns in counter order."""
    inbox = system.hub_inbox(store, "n1")
    seqs = [row["seq"] for row in inbox]
    assert seqs == list(range(1, len(seqs) + 1)), "hub inbox has gaps or duplicates"
    received = [row["return_id"] for row in inbox if row["kind"] == "return.received"]
    assert received == ids, "returns at the hub differ from the counter's, or out of order"
    assert system.hub_return_count(store) == len(ids)


def metric(proc: Proc, name: str) -> float:
    """One of the agent's counters (its /metrics)."""
    for line in http_get(f"{proc.url}/metrics", timeout=5).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return 0.0


def test_broker_outage_500_returns_arrive_exactly_once_in_order(system: System) -> None:
    # the hub's store config says it reads batches (ACORN_HUB_INGEST_EVENT_BATCH): the node
    # drains its backlog in event.batch messages once it holds one
    wait_for(lambda: health(system.edge_a)["config_version"], 30, "store-a's config")
    system.broker.stop()
    wait_for(lambda: not health(system.edge_a)["broker_connected"], 15, "edge to see the outage")
    ids, latencies = record_returns(system.edge_a, 500)
    # return, its stock move into QC hold, refund request: 3 events each
    assert health(system.edge_a)["outbox_pending"] == 1500
    print(
        f"\ncounter latency during outage: p50 {statistics.median(latencies):.1f} ms, "
        f"p99 {statistics.quantiles(latencies, n=100)[98]:.1f} ms"
    )
    system.broker.start()
    wait_for(lambda: health(system.edge_a)["outbox_pending"] == 0, 120, "outbox to drain")
    assert_exactly_once_in_order(system, "store-a", ids)
    assert system.hub_return_count("store-b") == 0
    batches = metric(system.edge_a, "acorn_edge_batches_sent_total")
    sent = metric(system.edge_a, "acorn_edge_events_sent_total")
    print(f"the backlog went in {batches:.0f} event.batch messages ({sent:.0f} events sent)")
    assert 1500 / 100 <= batches < 1500 / 2


def build_backlog(system: System, count: int) -> list[str]:
    """Record ``count`` returns at store A while the broker is down."""
    system.broker.stop()
    wait_for(lambda: not health(system.edge_a)["broker_connected"], 15, "edge to see the outage")
    ids, _ = record_returns(system.edge_a, count, refund=False)
    return ids


def stored_part(system: System, total: int) -> int:
    """How many of the backlog's events the hub holds, when strictly between 0 and all."""
    held = len(system.hub_inbox("store-a", "n1"))
    return held if 0 < held < total else 0


def hub_holds_read_only(system: System) -> int:
    """How many of store A's events are in the hub's database file, read without writing to
    it (no WAL checkpoint: a killed hub's files stay as the kill left them for its restart)."""
    path = system.tmp / "hub.db"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as conn:
        [(held,)] = conn.execute("SELECT count(*) FROM inbox WHERE store_id = 'store-a' "
                                 "AND node_id = 'n1'").fetchall()
    return int(held)


BACKLOG = 500  # returns: 1,000 events, several send windows and outbox reads (500 rows each)


@pytest.mark.parametrize("victim", ["edge", "hub"])
def test_killed_mid_drain_then_restarted_delivers_exactly_once(system: System,
                                                               victim: str) -> None:
    """SIGKILL the edge agent (while it sends) or the hub (while it ingests) half-way."""
    ids = build_backlog(system, BACKLOG)
    events = 2 * BACKLOG  # each return: return.received and its stock move
    assert health(system.edge_a)["outbox_pending"] == events
    system.broker.start()
    at_kill = wait_for(lambda: stored_part(system, events), 60, "the drain to start",
                       interval=0.01)
    proc = system.edge_a if victim == "edge" else system.hub
    proc.kill()
    print(f"\n{victim} killed with {at_kill} of {events} events at the hub")
    if victim == "hub":  # the kill landed mid-ingest: the dead hub's file lacks some events
        assert hub_holds_read_only(system) < events
    proc.start()
    wait_for(lambda: health(system.edge_a)["outbox_pending"] == 0, 120, "outbox to drain")
    assert_exactly_once_in_order(system, "store-a", ids)
    if victim == "edge":  # the kill landed mid-send: the restarted agent had events to send
        assert metric(system.edge_a, "acorn_edge_events_sent_total") > 0
