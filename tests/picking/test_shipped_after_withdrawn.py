"""A store that ships a package the hub had withdrawn (the order was routed again while it was
offline): the shipment is kept and confirmed, the replacement store's open task is withdrawn
and its reservation released; when the replacement shipped too, the second shipment is held for
a person, never confirmed twice (real hub database on SQLite and PostgreSQL, two real agents
over HTTP with their SQLite; commands and events carried by hand)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, select

from hub.access.permissions import Role
from hub.amazon.settings import AmazonSettings
from hub.amazon.shipments import unconfirmed_counts
from hub.inventory.routing import service
from hub.storage.engine import reading
from hub.storage.tables.core import commands
from hub.storage.tables.picking import package_shipments
from tests.amazon.conftest import Sim
from tests.amazon.helpers import sync
from tests.edge.conftest import NODE, STORE, Running
from tests.people.conftest import DeskHub, add_user
from tests.picking.flow_support import deliver_commands, send_events, two_stores
from tests.picking.test_confirm_shipment import packages_at_amazon, synced_unshipped_order
from tests.picking.test_picking_flow import (
    ORDER,
    OTHER,
    hub_tasks,
    routed,
    sellable_and_reserved,
    stocked,
)
from tests.routing.db_support import ADMIN, audits


def pick_and_ship(agent: Running, tracking: str) -> str:
    (task,) = agent.http.get("/api/pick-tasks").json()["tasks"]
    url = f"/api/pick-tasks/{task['package_id']}"
    for line in task["lines"]:
        for _ in range(line["quantity"]):
            assert agent.http.post(f"{url}/scans", json={"code": line["sku"]}).status_code == 200
    shipped = agent.http.post(f"{url}/shipment",
                              json={"carrier": "UPS", "tracking_number": tracking})
    assert shipped.status_code == 201, shipped.text
    return str(task["package_id"])


def rerouted_while_a_was_offline(engine: Engine, agent: Running, other: Running) -> None:
    """Routed to store A, which reserved; routed by hand to B, which reserved too; A has not
    heard of the withdrawal (offline)."""
    two_stores(engine, STORE, OTHER, NODE)
    stocked(agent, **{"SKU-A": 3})
    stocked(other, **{"SKU-A": 3})
    routed(engine, [("SKU-A", 2)])
    deliver_commands(engine, agent, STORE, NODE)
    assert sellable_and_reserved(agent, "SKU-A") == (1, 2)
    service.reroute(engine, ORDER, ADMIN, "customer asked for Chicago", store=OTHER)
    deliver_commands(engine, other, OTHER, NODE)
    assert sellable_and_reserved(other, "SKU-A") == (1, 2)
    assert hub_tasks(engine) == [(STORE, "withdrawn"), (OTHER, "open")]


def shipments(engine: Engine) -> list[tuple[str, str, str | None]]:
    with reading(engine) as conn:
        return [(r.store_id, r.confirm_state, r.last_error) for r in conn.execute(
            select(package_shipments).order_by(package_shipments.c.recorded_at,
                                               package_shipments.c.reference_id))]


def test_a_withdrawn_package_shipped_is_kept_and_the_replacement_withdrawn(
        engine: Engine, agent: Running, other: Running) -> None:
    rerouted_while_a_was_offline(engine, agent, other)
    late = pick_and_ship(agent, "1ZLATE0001")
    assert send_events(engine, agent, STORE, NODE).dead == []

    assert shipments(engine) == [(STORE, "pending", None)]  # the confirm job sends it
    assert hub_tasks(engine) == [(STORE, "shipped"), (OTHER, "withdrawn")]
    (withdrawn,) = audits(engine, "order.pick.withdrawn")
    assert late in withdrawn.reason and STORE in withdrawn.reason
    # B hears of it and releases its reservation; A's withdrawal finds the task shipped.
    deliver_commands(engine, other, OTHER, NODE)
    assert sellable_and_reserved(other, "SKU-A") == (3, 0)
    assert other.http.get("/api/pick-tasks").json()["tasks"] == []
    deliver_commands(engine, agent, STORE, NODE)
    assert sellable_and_reserved(agent, "SKU-A") == (1, 0)
    with reading(engine) as conn:
        kinds = [r.kind for r in conn.execute(select(commands.c.kind).where(
            commands.c.store_id == OTHER).order_by(commands.c.seq))]
        assert unconfirmed_counts(conn) == {"pending": 1, "sending": 0, "failed": 0,
                                            "held": 0}
    assert kinds == ["order.pick.task", "order.pick.withdrawn"]
    # The same events again change nothing (no second withdrawal, no second shipment).
    send_events(engine, agent, STORE, NODE)
    assert len(audits(engine, "order.pick.withdrawn")) == 1
    assert len(shipments(engine)) == 1


def test_both_stores_shipped_the_second_is_held_for_a_person(
        desk: DeskHub, agent: Running, other: Running) -> None:
    engine = desk.engine
    rerouted_while_a_was_offline(engine, agent, other)
    pick_and_ship(other, "1ZBBBB0001")
    assert send_events(engine, other, OTHER, NODE).dead == []
    late = pick_and_ship(agent, "1ZLATE0001")  # A shipped too, before it heard anything
    assert send_events(engine, agent, STORE, NODE).dead == []

    (first, second) = shipments(engine)
    assert first == (OTHER, "pending", None)
    assert second[:2] == (STORE, "held")
    assert second[2] is not None and "shipped twice" in second[2] and "SKU-A 4 of 2" in second[2]
    assert hub_tasks(engine) == [(STORE, "shipped"), (OTHER, "shipped")]
    (alert,) = audits(engine, "order.shipped_twice")
    assert alert.entity_id == late
    assert audits(engine, "order.pick.withdrawn") == []  # nothing open was left to withdraw
    # The alert: the desk's list of held shipments and /metrics.
    add_user(engine, "ada", Role.ADMIN)
    ada = desk.sign_in("ada")
    (listed,) = ada.get("/api/shipments", params={"state": "held"}).json()
    assert (listed["package_id"], listed["store_id"]) == (late, STORE)
    assert "shipped twice" in listed["last_error"]
    assert 'acorn_hub_shipments_unconfirmed{state="held"} 1.0' in ada.get("/metrics").text


def test_the_late_shipment_is_confirmed_to_amazon_once(
        engine: Engine, agent: Running, other: Running, make_sim: Callable[..., Sim],
        amazon_settings: AmazonSettings) -> None:
    sim = make_sim(history_days=10, orders_per_day=12)
    two_stores(engine, STORE, OTHER, NODE)
    account, order = synced_unshipped_order(engine, sim, amazon_settings)
    lines = {i["sku"]: i["quantity"] for i in order["items"] if i["quantity"]}
    for store in (agent, other):
        stocked(store, **{sku: quantity + 1 for sku, quantity in lines.items()})
    service.reroute(engine, order["order_id"], ADMIN, "nearest store has it", store=STORE)
    deliver_commands(engine, agent, STORE, NODE)
    service.reroute(engine, order["order_id"], ADMIN, "customer asked", store=OTHER)
    deliver_commands(engine, other, OTHER, NODE)  # store A is offline: it keeps its task
    pick_and_ship(agent, "1ZLATE0002")
    assert send_events(engine, agent, STORE, NODE).dead == []
    assert shipments(engine) == [(STORE, "pending", None)]

    assert sync(engine, amazon_settings, [account], jobs=["shipments"])["na"].ok
    assert shipments(engine) == [(STORE, "confirmed", None)]
    assert [p["packageReferenceId"] for p in packages_at_amazon(sim, order["order_id"])] == ["1"]
    deliver_commands(engine, other, OTHER, NODE)
    assert other.http.get("/api/pick-tasks").json()["tasks"] == []  # B's task withdrawn
