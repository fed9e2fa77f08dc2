"""An order routed to a store reaches its counter as a pick task and comes back shipped, or
given back (real hub database on SQLite and PostgreSQL, real agent over HTTP with its SQLite;
the hub's commands and the agent's events are carried by hand instead of a broker)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from hub.inventory.routing import service
from hub.storage.engine import reading, writing
from hub.storage.tables.picking import package_shipments, pick_tasks
from hub.storage.tables.routing import routed_orders
from tests.edge.conftest import NODE, STORE, Running
from tests.picking.flow_support import deliver_commands, send_events, two_stores
from tests.routing.db_support import add_order, audits

OTHER = "store-b"
ORDER = "111-0000001-0000001"
SPRINGFIELD = {ORDER: ("US", "62701")}


def routed(engine: Engine, items: list[tuple[str, int]]) -> None:
    rows = [add_order(engine, ORDER, items)]
    with writing(engine) as tx:
        assert service.route_new_orders(tx, "na", rows, SPRINGFIELD) == 1


def stocked(agent: Running, **skus: int) -> None:
    answer = agent.http.post("/api/stock/counts", json={"count_id": "c0", "lines": [
        {"sku": s, "quantity": q} for s, q in skus.items()]})
    assert answer.status_code == 201, answer.text


def sellable_and_reserved(agent: Running, sku: str) -> tuple[int, int]:
    levels = agent.http.get(f"/api/stock/{sku}").json()["levels"]
    return levels["sellable"], levels["reserved"]


def hub_tasks(engine: Engine) -> list[tuple[str, str]]:
    with reading(engine) as conn:
        return [(r.store_id, r.status) for r in conn.execute(
            select(pick_tasks).order_by(pick_tasks.c.sent_at, pick_tasks.c.store_id))]


def test_routed_picked_with_a_wrong_scan_refused_and_shipped(engine: Engine,
                                                               agent: Running) -> None:
    two_stores(engine, STORE, OTHER, NODE)
    stocked(agent, **{"SKU-A": 3})
    routed(engine, [("SKU-A", 2)])
    assert deliver_commands(engine, agent, STORE, NODE) == ["applied"]
    assert sellable_and_reserved(agent, "SKU-A") == (1, 2)
    (task,) = agent.http.get("/api/pick-tasks").json()["tasks"]
    url = f"/api/pick-tasks/{task['package_id']}"
    assert task["order_id"] == ORDER and task["ship_by"] is not None

    wrong = agent.http.post(f"{url}/scans", json={"code": "SKU-Z"})
    assert wrong.status_code == 409 and "wrong item" in wrong.text
    for _ in range(2):
        assert agent.http.post(f"{url}/scans", json={"code": "SKU-A"}).status_code == 200
    shipped = agent.http.post(f"{url}/shipment",
                              json={"carrier": "UPS", "tracking_number": "1Z999AA10123456784"})
    assert shipped.status_code == 201, shipped.text
    assert sellable_and_reserved(agent, "SKU-A") == (1, 0)

    result = send_events(engine, agent, STORE, NODE)
    assert result.dead == []
    send_events(engine, agent, STORE, NODE)  # the same events again: duplicates
    with reading(engine) as conn:
        (row,) = conn.execute(select(package_shipments)).all()
    assert (row.package_id, row.order_id, row.carrier, row.tracking_number, row.confirm_state) \
        == (task["package_id"], ORDER, "UPS", "1Z999AA10123456784", "pending")
    assert row.lines == [{"sku": "SKU-A", "quantity": 2}]
    assert hub_tasks(engine) == [(STORE, "shipped")]
    assert len(audits(engine, "order.shipped")) == 1


def test_a_store_giving_back_is_rerouted_and_its_reservation_released(
        engine: Engine, agent: Running) -> None:
    two_stores(engine, STORE, OTHER, NODE)
    stocked(agent, **{"SKU-A": 3})
    routed(engine, [("SKU-A", 2)])
    deliver_commands(engine, agent, STORE, NODE)
    (task,) = agent.http.get("/api/pick-tasks").json()["tasks"]
    assert sellable_and_reserved(agent, "SKU-A") == (1, 2)

    back = agent.http.post(f"/api/pick-tasks/{task['package_id']}/give-back",
                           json={"reason": "both units damaged"})
    assert back.status_code == 200, back.text
    assert sellable_and_reserved(agent, "SKU-A") == (3, 0)
    assert send_events(engine, agent, STORE, NODE).dead == []

    with reading(engine) as conn:
        order = conn.execute(select(routed_orders)).one()
    assert order.attempt == 2 and order.given_back == [STORE]
    assert [p["store_id"] for p in order.decision["packages"]] == [OTHER]
    assert hub_tasks(engine) == [(STORE, "given_back"), (OTHER, "open")]
    (given,) = audits(engine, "order.given_back")
    assert "both units damaged" in given.reason


def test_a_shipment_for_a_package_not_sent_to_that_node_is_dead_lettered(
        engine: Engine, agent: Running) -> None:
    from hub.storage.tables.core import dead_letters
    from protocol import OrderShipped, PickLine, make_envelope, utc_now

    two_stores(engine, STORE, OTHER, NODE)
    routed(engine, [("SKU-A", 2)])  # store-a's package
    with reading(engine) as conn:
        package = conn.execute(select(pick_tasks.c.package_id)).scalar_one()
    forged = make_envelope(OTHER, NODE, 1, OrderShipped(
        package_id=package, order_id=ORDER, carrier="UPS", tracking_number="1Z0",
        shipped_at=utc_now(), lines=(PickLine(sku="SKU-A", quantity=2),)))
    from tests.hub.helpers import ingest

    result = ingest(engine, forged)
    assert len(result.dead) == 1
    with reading(engine) as conn:
        (reason,) = conn.execute(select(dead_letters.c.reason)).scalars().all()
        assert conn.execute(select(package_shipments)).all() == []
    assert f"no package {package} was sent to {OTHER}/{NODE}" in reason
    assert hub_tasks(engine) == [(STORE, "open")]
