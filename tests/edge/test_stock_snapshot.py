"""Snapshots of the store's stock totals for the hub's consistency check: sealed pages through
the outbox, counting up to the last move booked, on the local API, on the hub's command and on
the schedule."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from edge_agent.stock import snapshot
from edge_agent.sync import commands
from protocol import (
    SnapshotLine,
    SnapshotRequest,
    StockSnapshot,
    StockState,
    encode,
    make_envelope,
    utc_now,
)
from tests.edge.conftest import NODE, STORE, Running


def snapshots(run: Running) -> list[StockSnapshot]:
    with run.agent.store.read() as tx:
        rows = tx.all("SELECT body FROM outbox WHERE kind = 'stock.snapshot' ORDER BY seq")
    return [StockSnapshot.model_validate(json.loads(r["body"])) for r in rows]


def counted(run: Running, lines: list[dict[str, Any]]) -> None:
    answer = run.http.post("/api/stock/counts", json={"count_id": "c1", "lines": lines})
    assert answer.status_code == 201, answer.text


def test_the_local_api_sends_a_sealed_snapshot_counting_up_to_the_last_move(
        agent: Running) -> None:
    counted(agent, [{"sku": "SKU-B", "quantity": 5}, {"sku": "SKU-A", "quantity": 3}])
    answer = agent.http.post("/api/stock/snapshots")
    assert answer.status_code == 201, answer.text
    taken = answer.json()
    (page,) = snapshots(agent)
    with agent.agent.store.read() as tx:
        last_move = tx.scalar("SELECT max(event_seq) FROM stock_moves")
        audit = tx.one("SELECT action FROM audit WHERE entity = 'stock_snapshot'")
    assert page.as_of_seq == last_move == taken["as_of_seq"] and taken["first_seq"] > last_move
    assert [(line.sku, line.levels) for line in page.lines] == [
        ("SKU-A", {StockState.SELLABLE: 3}), ("SKU-B", {StockState.SELLABLE: 5})]
    assert (page.page, page.pages, page.reason) == (1, 1, "local") and audit is not None


def test_a_large_store_is_cut_into_pages_that_cover_every_sku() -> None:
    lines = [SnapshotLine(sku=f"SKU-{n:04d}", levels={StockState.SELLABLE: n + 1})
             for n in range(7)]
    pages = snapshot.pages_of("SN1", "schedule", 9, utc_now(), lines, size=3)
    assert [(p.page, p.pages, p.after_sku, p.last_sku, len(p.lines)) for p in pages] == [
        (1, 3, None, "SKU-0002", 3), (2, 3, "SKU-0002", "SKU-0005", 3), (3, 3, "SKU-0005", None, 1)]
    tampered = pages[1].model_dump() | {"as_of_seq": 10}
    with pytest.raises(ValueError, match="digest does not match"):
        StockSnapshot.model_validate(tampered)


def test_the_hub_s_request_is_applied_once_and_reported_before_the_pages(
        agent: Running) -> None:
    counted(agent, [{"sku": "SKU-A", "quantity": 2}])
    command = make_envelope(STORE, NODE, 1, SnapshotRequest(requested_by="hq-anna"))
    first = commands.handle(agent.agent.store, STORE, NODE, encode(command), utc_now())
    again = commands.handle(agent.agent.store, STORE, NODE, encode(command), utc_now())
    assert first.result == "applied" and "1 SKUs in 1 pages" in first.detail
    assert again.result == "duplicate" and len(snapshots(agent)) == 1
    assert snapshots(agent)[0].reason == "hub"


def test_the_schedule_takes_one_when_due_and_not_again_until_the_interval_passed(
        agent: Running) -> None:
    ledger, start = agent.agent.stock, utc_now() - timedelta(hours=25)
    due = ledger.snapshot_if_due(start, timedelta(hours=24))
    assert len(snapshots(agent)) == 1 and due > utc_now() + timedelta(hours=23)
    assert ledger.snapshot_if_due(start, timedelta(hours=24)) == due
    assert len(snapshots(agent)) == 1
