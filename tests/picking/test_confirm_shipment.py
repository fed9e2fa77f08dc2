"""A store's shipment confirmed to the SP-API simulator exactly once: an unshipped MFN order
synced from the simulator, routed to a store, picked at a real agent (one wrong scan refused),
shipped, ingested, and confirmed by the shipments job — once, also when the hub process is
killed between Amazon's answer and its record (real simulator over HTTP, real databases)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from hub.access.users import Actor
from hub.amazon.accounts import Account
from hub.amazon.settings import AmazonSettings
from hub.inventory.routing import service
from hub.storage.engine import reading
from hub.storage.tables.amazon import amazon_orders
from hub.storage.tables.picking import package_shipments
from tests.amazon.conftest import Sim
from tests.amazon.helpers import add_accounts, sync
from tests.edge.conftest import NODE, STORE, Running
from tests.picking.flow_support import deliver_commands, send_events, two_stores
from tests.routing.db_support import put_stock
from tests.support.http_calls import http_get

ROOT = Path(__file__).resolve().parents[2]
MANAGER = Actor("rm-midwest", "regional_manager")


def synced_unshipped_order(engine: Engine, sim: Sim, settings: AmazonSettings
                           ) -> tuple[Account, dict[str, Any]]:
    (account,) = add_accounts(engine, sim, settings, {"na": (0, ("US",))})
    assert sync(engine, settings, [account], jobs=["orders"])["na"].ok
    with reading(engine) as conn:
        rows = conn.execute(select(amazon_orders).where(
            amazon_orders.c.fulfilled_by == "MERCHANT", amazon_orders.c.status == "UNSHIPPED",
            amazon_orders.c.marketplace_id == "ATVPDKIKX0DER")
            .order_by(amazon_orders.c.order_id)).all()
    assert rows, "the simulator has no unshipped MFN order in the US"
    return account, dict(rows[0]._mapping)


def picked_and_shipped(engine: Engine, agent: Running, order: dict[str, Any]) -> str:
    """Route ``order`` to the agent's store by hand, pick it (a wrong scan first), ship it."""
    lines = {i["sku"]: i["quantity"] for i in order["items"] if i["quantity"]}
    for sku, quantity in lines.items():
        put_stock(engine, STORE, sku, quantity + 1)
    counted = agent.http.post("/api/stock/counts", json={"count_id": "c0", "lines": [
        {"sku": s, "quantity": q} for s, q in lines.items()]})
    assert counted.status_code == 201, counted.text
    service.reroute(engine, order["order_id"], MANAGER, "nearest store has it", store=STORE)
    assert "applied" in deliver_commands(engine, agent, STORE, NODE)
    (task,) = [t for t in agent.http.get("/api/pick-tasks").json()["tasks"]
               if t["order_id"] == order["order_id"]]
    url = f"/api/pick-tasks/{task['package_id']}"
    wrong = agent.http.post(f"{url}/scans", json={"code": "NOT-ON-THE-ORDER"})
    assert wrong.status_code == 409 and "wrong item" in wrong.text
    for sku, quantity in lines.items():
        for _ in range(quantity):
            assert agent.http.post(f"{url}/scans", json={"code": sku}).status_code == 200
    shipped = agent.http.post(f"{url}/shipment",
                              json={"carrier": "UPS", "tracking_number": "1Z999AA10123456784"})
    assert shipped.status_code == 201, shipped.text
    assert send_events(engine, agent, STORE, NODE).dead == []
    return str(task["package_id"])


def packages_at_amazon(sim: Sim, order_id: str) -> list[dict[str, Any]]:
    seller = sim.sellers[0].seller_id
    answer = http_get(f"{sim.url}/_sim/sellers/{seller}/shipments",
                      params={"orderId": order_id})
    assert answer.status_code == 200, answer.text
    orders = answer.json()["orders"]
    return [p for o in orders for p in o["packages"]]


def state_of(engine: Engine, package: str) -> Any:
    with reading(engine) as conn:
        return conn.execute(select(package_shipments).where(
            package_shipments.c.package_id == package)).one()


def test_shipped_at_the_store_is_confirmed_to_amazon_once(
        engine: Engine, agent: Running, make_sim: Callable[..., Sim],
        amazon_settings: AmazonSettings) -> None:
    sim = make_sim(history_days=10, orders_per_day=12)
    two_stores(engine, STORE, "store-b", NODE)
    account, order = synced_unshipped_order(engine, sim, amazon_settings)
    package = picked_and_shipped(engine, agent, order)

    assert sync(engine, amazon_settings, [account], jobs=["shipments"])["na"].ok, \
        state_of(engine, package).last_error
    assert state_of(engine, package).confirm_state == "confirmed"
    assert sync(engine, amazon_settings, [account], jobs=["shipments"])["na"].ok  # nothing due
    assert sim.requests(sim.sellers[0], "confirmShipment") == 1
    (shipped,) = packages_at_amazon(sim, order["order_id"])
    assert shipped["packageReferenceId"] == "1"
    assert shipped["trackingNumber"] == "1Z999AA10123456784"


def test_a_hub_killed_between_the_call_and_its_record_confirms_the_same_package(
        engine: Engine, db_url: str, agent: Running, make_sim: Callable[..., Sim],
        amazon_settings: AmazonSettings) -> None:
    sim = make_sim(history_days=10, orders_per_day=12)
    two_stores(engine, STORE, "store-b", NODE)
    _account, order = synced_unshipped_order(engine, sim, amazon_settings)
    package = picked_and_shipped(engine, agent, order)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ACORN_HUB_DATABASE_URL": db_url,
           "ACORN_HUB_AMAZON_SECRETS_FILE": str(amazon_settings.secrets_file),
           "ACORN_HUB_AMAZON_RATE_FACTOR": str(amazon_settings.rate_factor)}

    crashed = subprocess.run([sys.executable, str(ROOT / "tests/picking/crashing_confirm.py")],
                             env=env, cwd=ROOT, capture_output=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()[-2000:]
    assert state_of(engine, package).confirm_state == "sending"  # the intent, no answer
    assert len(packages_at_amazon(sim, order["order_id"])) == 1  # Amazon has it already

    again = subprocess.run([sys.executable, "-m", "hub", "amazon", "shipments", "confirm"],
                           env=env, cwd=ROOT, capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    row = state_of(engine, package)
    assert (row.confirm_state, row.attempts) == ("confirmed", 2)
    assert sim.requests(sim.sellers[0], "confirmShipment") == 2  # the same package, sent again
    (shipped,) = packages_at_amazon(sim, order["order_id"])  # edited, never a second package
    assert shipped["packageReferenceId"] == "1"
