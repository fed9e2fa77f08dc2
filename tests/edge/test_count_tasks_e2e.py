"""A recount, end to end on real processes: HQ resolves a stock difference with "recount"; the
hub sends the store a count task over the real broker; the counter page (headless Chromium)
shows "Count SKU-A"; staff enter the figure; the count closes the task at the store, and its
``recount`` snapshot marks the difference recounted at the hub, checked again from the new
figures. The store is a password node: its differences say ``broker`` (no key to verify)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import System, system  # noqa: F401  (broker, hub and two stores)
from tests.e2e.test_stock_sync import health, post
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.http_calls import http_get, http_post
from tests.support.procs import wait_for

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def page() -> Iterator[Any]:
    with chromium_page(has_touch=True, timezone_id="UTC") as page:
        yield page


def edge_rows(system: System, query: str) -> list[dict[str, Any]]:  # noqa: F811
    conn = sqlite3.connect(system.tmp / "edge-store-a-n1" / "edge.db", timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(query)]
    finally:
        conn.close()


def test_a_recount_reaches_the_counter_and_the_store_s_count_closes_it(
        system: System, page: Any) -> None:  # noqa: F811
    with httpx.Client(base_url=system.edge_a.url, timeout=10) as client:
        post(client, "/api/stock/counts", {"count_id": "open", "lines": [
            {"sku": "SKU-A", "quantity": 10}]})
        wait_for(lambda: health(system.edge_a)["outbox_pending"] == 0, 30, "moves to the hub")
        conn = sqlite3.connect(system.tmp / "edge-store-a-n1" / "edge.db", timeout=10)
        with conn:  # the ledger says 13 where its moves add up to 10
            conn.execute("UPDATE stock_levels SET quantity = 13 WHERE sku = 'SKU-A'")
        conn.close()
        assert post(client, "/api/stock/snapshots", {})["signed"] is False  # no key here
    (found,) = wait_for(lambda: system.hub_sql("SELECT * FROM stock_differences"), 30,
                        "the hub to compare the snapshot")
    assert (found["difference"], found["authentication"]) == (3, "broker")

    expect, by = sync_api.expect, page.get_by_test_id
    expect.set_options(timeout=30_000)
    page.goto(f"{system.edge_a.url}/")
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    expect(by("count-tasks")).to_be_hidden()  # nothing asked yet

    auth = {"Authorization": f"Bearer {system.token()}"}
    asked = http_post(f"{system.hub.url}/api/stock/differences/{found['id']}/resolve",
                      json={"action": "recount", "note": "count the shelf"}, headers=auth,
                      timeout=10)
    assert asked.status_code == 200, asked.text
    task_id = asked.json()["count_task_id"]
    assert asked.json()["status"] == "recount" and task_id

    # the command reaches the store over the broker; the open page hears of it and lists it
    task = by("count-task")
    expect(task).to_have_count(1)
    expect(task).to_have_attribute("data-task", task_id)
    expect(task).to_contain_text("SKU-A")
    task.get_by_test_id("count-task-quantity").fill("13")
    task.get_by_test_id("count-task-save").click()
    expect(by("count-task-message")).to_contain_text("SKU-A = 13")
    expect(by("count-task")).to_have_count(0)

    (done,) = edge_rows(system, "SELECT status, count_id, counted, snapshot_id FROM count_tasks")
    assert (done["status"], done["count_id"], done["counted"]) == (
        "done", f"recount-{task_id}", 13)
    assert http_get(f"{system.edge_a.url}/api/count-tasks", timeout=10).json() == {"tasks": []}

    # the recount snapshot carries the answer: the difference is recounted, checked again from
    # the new figures (still 13 against 10: the shelf holds what the store said), open for HQ
    row = wait_for(lambda: [r for r in system.hub_sql("SELECT * FROM stock_differences")
                            if r["recounted_at"] is not None], 30, "the answer at the hub")[0]
    assert (row["id"], row["count_task_id"], row["recount_count_id"], row["recount_counted"],
            row["status"], row["snapshot_id"], row["difference"]) == (
        found["id"], task_id, f"recount-{task_id}", 13, "open", done["snapshot_id"], 3)
    (audit,) = system.hub_sql("SELECT actor, after FROM audit_log "
                              "WHERE action = 'stock.difference.recounted'")
    assert audit["actor"] == "node:store-a/n1"
    (command,) = system.hub_sql("SELECT actor FROM audit_log "
                                "WHERE action = 'stock.difference.recount'")
    assert command["actor"] == "approver-1"
