"""Picking end to end on real processes (a private Mosquitto, ``acorn-hub serve``, two
``acorn-edge run``): an order routed on import to store-a reaches its counter over the broker
as a pick task; a manager routes it again, so the first task is withdrawn and the second one
stands, reserving once; one wrong scan is refused, it ships, and the hub records the shipment
once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine

from hub.errors import StorageError
from hub.inventory.routing import service
from hub.storage.engine import writing
from tests.e2e.conftest import System, system  # noqa: F401  (broker, hub and two stores)
from tests.e2e.test_stock_sync import post
from tests.routing.db_support import add_order, add_store, publish_rules, put_stock
from tests.support.http_calls import http_get, http_post
from tests.support.procs import wait_for

ORDER = "111-0000077-0000077"


def hub_engine(system: System) -> Engine:  # noqa: F811
    return create_engine(f"sqlite:///{system.tmp / 'hub.db'}")


def again(write: Callable[[], object]) -> None:
    """A write from this process beside the running hub: the audit chain's unique seq refuses
    the loser of a race between the two writers; it writes again on the new head."""
    for _ in range(50):
        try:
            write()
            return
        except StorageError:
            time.sleep(0.05)
    raise AssertionError("the hub's database stayed busy")


def routed_by_import(system: System) -> None:  # noqa: F811
    """What the orders sync does: the order stored and routed in one transaction."""
    engine = hub_engine(system)
    try:
        for store, place in (("store-a", "us-spi"), ("store-b", "us-chi")):
            again(lambda store=store, place=place: add_store(engine, store, place=place))
            put_stock(engine, store, "SKU-A", 3)
        again(lambda: publish_rules(engine))
        rows = [add_order(engine, ORDER, [("SKU-A", 2)])]

        def route() -> None:
            with writing(engine) as tx:
                service.route_new_orders(tx, "na", rows, {ORDER: ("US", "62701")})
        again(route)
    finally:
        engine.dispose()


def tasks(url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = http_get(f"{url}/api/pick-tasks", timeout=5).json()["tasks"]
    return found


def test_routed_over_the_broker_rerouted_picked_and_shipped(system: System) -> None:  # noqa: F811
    for edge in (system.edge_a, system.edge_b):
        with httpx.Client(base_url=edge.url, timeout=10) as client:
            post(client, "/api/stock/counts", {"count_id": "open", "lines": [
                {"sku": "SKU-A", "quantity": 3}]})
    wait_for(lambda: len(system.hub_sql("SELECT * FROM nodes")) == 2, 30, "both nodes known")
    routed_by_import(system)  # routed to store-a (Springfield) with its task queued
    auth = {"Authorization": f"Bearer {system.token(role='admin')}"}
    # a manager routes it again by hand to the same store: the hub process queues and publishes
    moved = http_post(f"{system.hub.url}/api/routing/orders/{ORDER}/route",
                      json={"store": "store-a", "reason": "the customer asked"},
                      headers=auth, timeout=10)
    assert moved.status_code == 200, moved.text
    # the first route's task is withdrawn (its reservation released), the second one stands
    (task,) = wait_for(lambda: [t for t in tasks(system.edge_a.url) if t["attempt"] == 2]
                       if len(tasks(system.edge_a.url)) == 1 else [], 30,
                       "one pick task at store-a, of the second route")
    levels = http_get(f"{system.edge_a.url}/api/stock/SKU-A", timeout=5).json()["levels"]
    assert (levels["sellable"], levels["reserved"]) == (1, 2)

    with httpx.Client(base_url=system.edge_a.url, timeout=10) as client:
        url = f"/api/pick-tasks/{task['package_id']}"
        wrong = client.post(f"{url}/scans", json={"code": "SKU-B"})
        assert wrong.status_code == 409 and "wrong item" in wrong.text
        for _ in range(2):
            assert client.post(f"{url}/scans", json={"code": "SKU-A"}).status_code == 200
        post(client, f"{url}/shipment", {"carrier": "UPS", "tracking_number": "1Z999AA1"})
    (shipped,) = wait_for(lambda: system.hub_sql("SELECT * FROM package_shipments"), 30,
                          "the shipment at the hub")
    assert (shipped["package_id"], shipped["store_id"], shipped["confirm_state"],
            shipped["reference_id"]) == (task["package_id"], "store-a", "pending", 1)
    assert system.hub_sql("SELECT count(*) AS n FROM audit_log "
                          "WHERE action = 'order.shipped'")[0]["n"] == 1
