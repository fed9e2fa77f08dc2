"""A store offline sells, counts and takes returns in; once the broker is back, the hub's stock
view equals the store's ledger, event by event (real broker, real `acorn-hub serve`, real
`acorn-edge run`)."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx

from tests.e2e.conftest import System
from tests.support.http_calls import http_get
from tests.support.procs import Proc, wait_for

PRICE = {"amount": "20.00", "currency": "USD"}


def health(proc: Proc) -> dict[str, Any]:
    return dict(http_get(f"{proc.url}/api/health", timeout=5).json())


def post(client: httpx.Client, path: str, body: dict[str, Any], status: int = 201) -> Any:
    answer = client.post(path, json=body)
    assert answer.status_code == status, answer.text
    return answer.json()


def edge_rows(system: System, query: str) -> list[dict[str, Any]]:
    """The store agent's own database, read-only (the ground truth of its ledger)."""
    path = system.tmp / "edge-store-a-n1" / "edge.db"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(query)]
    finally:
        conn.close()


def a_day_offline(client: httpx.Client) -> None:
    """Count, sell (one sale retried), take two returns in, QC them, count again in full."""
    post(client, "/api/stock/counts", {"count_id": "open", "lines": [
        {"sku": "SKU-A", "quantity": 10}, {"sku": "SKU-B", "quantity": 5}]})
    sale = {"pos_transaction_id": "till-1-0001", "lines": [{"sku": "SKU-A", "qty": 3},
                                                           {"sku": "SKU-B", "qty": 1}]}
    post(client, "/api/pos/sales", sale)
    post(client, "/api/pos/sales", sale, status=200)  # the till retried: booked once
    post(client, "/api/pos/sales", {"pos_transaction_id": "till-1-0002",
                                    "lines": [{"sku": "SKU-B", "qty": 6}]})  # beyond the ledger
    returns = []
    for grade, disposition in (("like_new", "restock_sellable"), ("damaged_by_customer",
                                                                   "dispose")):
        view = post(client, "/api/returns", {
            "channel": "pos", "reason": "changed mind", "request_refund": False,
            "items": [{"sku": "SKU-A", "quantity": 1, "unit_price": PRICE}]})
        post(client, f"/api/returns/{view['return_id']}/inspection", {"grade": grade})
        returns.append((view["return_id"], disposition))
    for return_id, disposition in returns:
        post(client, f"/api/returns/{return_id}/disposition", {"disposition": disposition})
    post(client, "/api/stock/counts", {"count_id": "close", "full": True,
                                       "lines": [{"sku": "SKU-A", "quantity": 7}]})


def test_a_store_offline_for_a_day_syncs_and_the_hub_equals_it_event_by_event(
        system: System) -> None:
    system.broker.stop()
    wait_for(lambda: not health(system.edge_a)["broker_connected"], 15, "edge to see the outage")
    with httpx.Client(base_url=system.edge_a.url, timeout=10) as client:
        a_day_offline(client)
        at_store = {s: client.get(f"/api/stock/{s}").json()["levels"]
                    for s in ("SKU-A", "SKU-B")}
    assert at_store["SKU-A"]["sellable"] == 7 and at_store["SKU-A"]["scrap"] == 1
    assert at_store["SKU-B"]["sellable"] == 0  # sold beyond it (-2), then counted at zero
    assert health(system.edge_a)["outbox_pending"] > 0

    system.broker.start()
    wait_for(lambda: health(system.edge_a)["outbox_pending"] == 0, 60, "outbox to drain")

    store_moves = edge_rows(system, "SELECT * FROM stock_moves ORDER BY event_seq")
    hub_moves = system.hub_sql(
        "SELECT * FROM stock_moves WHERE store_id = 'store-a' ORDER BY seq")
    fields = ("move_id", "sku", "quantity", "from_state", "to_state", "reason", "from_after",
              "to_after")
    assert len(store_moves) == 11
    assert [(*[m[f] for f in fields], m["event_seq"]) for m in store_moves] == [
        (*[m[f] for f in fields], m["seq"]) for m in hub_moves]
    # the hub's own sums agree with what the store said after every move
    assert all((m["from_after"], m["to_after"]) == (m["store_from_after"], m["store_to_after"])
               for m in hub_moves)
    store_levels = {(r["sku"], r["state"]): r["quantity"] for r in edge_rows(
        system, "SELECT sku, state, quantity FROM stock_levels")}
    hub_levels = {(r["sku"], r["state"]): r["quantity"] for r in system.hub_sql(
        "SELECT sku, state, quantity FROM stock_levels WHERE store_id = 'store-a'")}
    assert hub_levels == store_levels

    token = system.token()
    view = system.hub_get("/api/stock", token, sku="SKU-A")
    (item,) = view["items"]
    assert [s["store_id"] for s in item["stores"]] == ["store-a"]
    assert item["totals"] == at_store["SKU-A"] and item["stores"][0]["differs"] is False
    moves = system.hub_get("/api/stock/SKU-A/moves", token)
    assert moves["total"] == len([m for m in store_moves if m["sku"] == "SKU-A"])
