"""The consistency check end to end: a store whose ledger holds a figure its moves do not add up
to is caught when the hub asks for a snapshot (real broker, real `acorn-hub serve`, real
`acorn-edge run`), and accepting the store's figure settles it."""

from __future__ import annotations

import sqlite3
import subprocess

import httpx

from tests.e2e.conftest import System
from tests.e2e.test_stock_sync import health, post
from tests.support.http_calls import http_get, http_post
from tests.support.procs import BIN, wait_for


def test_a_stock_count_hq_did_not_expect_raises_an_alert_through_the_real_broker(
        system: System) -> None:
    with httpx.Client(base_url=system.edge_a.url, timeout=10) as client:
        post(client, "/api/stock/counts", {"count_id": "open", "lines": [
            {"sku": "SKU-A", "quantity": 10}, {"sku": "SKU-B", "quantity": 5}]})
        wait_for(lambda: health(system.edge_a)["outbox_pending"] == 0, 30, "moves to reach hub")
        # a snapshot while all agree: nothing to report
        post(client, "/api/stock/snapshots", {})
        wait_for(lambda: health(system.edge_a)["outbox_pending"] == 0, 30, "snapshot to sync")
        assert system.hub_sql("SELECT * FROM stock_differences") == []
        # someone changes the store's ledger behind its back: 13 on the books, moves say 10
        path = system.tmp / "edge-store-a-n1" / "edge.db"
        conn = sqlite3.connect(path, timeout=10)
        with conn:
            conn.execute("UPDATE stock_levels SET quantity = 13 "
                         "WHERE sku = 'SKU-A' AND state = 'sellable'")
        conn.close()

    asked = subprocess.run([str(BIN / "acorn-hub"), "stock", "check", "--store", "store-a"],
                           env=system.hub.env, capture_output=True, text=True, check=True)
    assert "asked store-a/n1" in asked.stdout
    found = wait_for(lambda: system.hub_sql("SELECT * FROM stock_differences"), 30,
                     "the hub to compare the store's snapshot")
    (row,) = found
    assert (row["store_id"], row["sku"], row["state"], row["store_quantity"],
            row["hub_quantity"], row["difference"], row["status"]) == (
        "store-a", "SKU-A", "sellable", 13, 10, 3, "open")

    token = system.token()
    auth = {"Authorization": f"Bearer {token}"}
    listed = system.hub_get("/api/stock/differences", token)
    assert [(d["sku"], d["alert"]) for d in listed["items"]] == [("SKU-A", True)]
    metrics = http_get(f"{system.hub.url}/metrics", headers=auth, timeout=10).text
    assert "acorn_hub_stock_differences_alerting 1.0" in metrics
    done = http_post(f"{system.hub.url}/api/stock/differences/{row['id']}/resolve",
                     json={"action": "accept", "note": "shelf recounted: 13"}, headers=auth,
                     timeout=10)
    assert done.status_code == 200, done.text
    (level,) = system.hub_sql("SELECT quantity FROM stock_levels WHERE store_id = 'store-a' "
                              "AND sku = 'SKU-A' AND state = 'sellable'")
    assert level["quantity"] == 13
    (audit,) = system.hub_sql("SELECT actor, reason FROM audit_log "
                              "WHERE action = 'stock.difference.accept'")
    assert audit["reason"] == "shelf recounted: 13"
