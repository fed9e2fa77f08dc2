"""A package a store ships for another region's order is booked as a virtual transfer at the
transfer price (pitfall 8): the order's region is the region of the store nearest its
destination; the line lands in the monthly internal settlement once, however often the package
is recorded; a store of the order's own region books nothing (real hub database on SQLite and
PostgreSQL, real agent with its SQLite; commands and events carried by hand)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine, select, update

from hub.access.users import Actor
from hub.inventory.catalogue.item import CatalogueItem
from hub.inventory.catalogue.store import put_item
from hub.inventory.transfers import fills, rules_store, settlement
from hub.storage.engine import reading, writing
from hub.storage.outbox import ensure_node
from hub.storage.tables.core import stores
from hub.storage.tables.picking import package_shipments
from hub.storage.tables.transfers import transfer_settlement_lines
from tests.edge.conftest import NODE, STORE, Running
from tests.picking.flow_support import deliver_commands, send_events
from tests.picking.test_picking_flow import routed, stocked
from tests.routing.db_support import add_store, audits, publish_rules, put_stock

HOME = "store-spi"  # Springfield, IL: nearest the order's destination (62701), holds nothing
PRICES = """schema_version: 1
version: 2
name: regions
currency: USD
rules:
  - name: north-south
    regions: {from_region: north, to_region: south}
    fixed: {amount: 7.00, currency: USD}
"""


def chain(engine: Engine, shipper_region: str) -> None:
    """``STORE`` in Chicago holds the stock; ``HOME`` in Springfield is nearest the buyer."""
    add_store(engine, STORE, place="us-chi")
    add_store(engine, HOME, place="us-spi")
    put_stock(engine, STORE, "SKU-A", 3)
    with writing(engine) as tx:
        for store, node in ((STORE, NODE), (HOME, "n1")):
            ensure_node(tx.conn, store, node, tx.now)
        for store, region in ((STORE, shipper_region), (HOME, "south")):
            tx.conn.execute(update(stores).where(stores.c.store_id == store)
                            .values(region=region))
        rules_store.publish(tx, PRICES, "finance-1", "finance")
    put_item(engine, "SKU-A", CatalogueItem(category="tools", unit_cost={
        "amount": "10.00", "currency": "USD"}), Actor("hq", "admin"))
    publish_rules(engine)


def ship(engine: Engine, agent: Running, tracking: str) -> str:
    """Pick and ship the order's one package at the counter; its package id."""
    (task,) = agent.http.get("/api/pick-tasks").json()["tasks"]
    url = f"/api/pick-tasks/{task['package_id']}"
    for _ in range(2):
        agent.http.post(f"{url}/scans", json={"code": "SKU-A"})
    shipped = agent.http.post(f"{url}/shipment", json={"carrier": "UPS",
                                                       "tracking_number": tracking})
    assert shipped.status_code == 201, shipped.text
    assert send_events(engine, agent, STORE, NODE).dead == []
    return str(task["package_id"])


def test_another_region_s_order_is_priced_as_a_transfer_once(engine: Engine,
                                                             agent: Running) -> None:
    chain(engine, shipper_region="north")
    stocked(agent, **{"SKU-A": 3})
    routed(engine, [("SKU-A", 2)])
    assert deliver_commands(engine, agent, STORE, NODE) == ["applied"]
    package = ship(engine, agent, "1Z999AA10123456784")
    send_events(engine, agent, STORE, NODE)  # the same events again change nothing

    with reading(engine) as conn:
        shipped_at = conn.scalar(select(package_shipments.c.shipped_at))
        month = settlement.summary(conn, shipped_at.strftime("%Y-%m"))  # the month it shipped
    (line,) = month["lines"]
    assert (line["transfer_id"], line["from_store"], line["to_store"], line["from_region"],
            line["to_region"], line["quantity"], line["rule"]) == (
        fills.PREFIX + package, STORE, HOME, "north", "south", 2, "north-south")
    assert (line["unit_price"], line["amount"], line["currency"]) == (
        Decimal("7.00"), Decimal("14.00"), "USD")
    assert "belongs to region south (nearest store store-spi)" in line["why"]
    assert month["between_regions"] == [{"from_region": "north", "to_region": "south",
                                         "currency": "USD", "units": 2,
                                         "amount": Decimal("14.00"), "lines": 1}]
    (entry,) = audits(engine, fills.ACTION)
    assert entry.entity_id == package and entry.after["to_store"] == HOME


def test_a_store_of_the_order_s_own_region_books_nothing(engine: Engine, agent: Running) -> None:
    chain(engine, shipper_region="south")
    stocked(agent, **{"SKU-A": 3})
    routed(engine, [("SKU-A", 2)])
    deliver_commands(engine, agent, STORE, NODE)
    ship(engine, agent, "1Z999AA10123456784")
    with reading(engine) as conn:
        assert conn.scalar(select(package_shipments.c.store_id)) == STORE
        assert conn.execute(select(transfer_settlement_lines)).all() == []
    assert audits(engine, fills.ACTION) == []


def test_the_nearest_store_decides_the_region_ties_by_id() -> None:
    spots = [fills.Spot("b", 41.88, -87.63, "north"), fills.Spot("a", 41.88, -87.63, "east"),
             fills.Spot("c", 39.80, -89.64, "south")]
    assert fills.nearest(39.78, -89.65, spots) == spots[2]
    assert fills.nearest(41.90, -87.60, spots) == spots[1]  # a tie: the lower id
    assert fills.nearest(0.0, 0.0, []) is None
