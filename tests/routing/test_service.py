"""Routing in the hub on a real database (SQLite and PostgreSQL): routed on import, re-routed by
hand and after a give-back, every decision stored and audited; rules versions; open routes hold
their units."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from hub.access.users import Actor
from hub.errors import Conflict, InputError, NotFound
from hub.inventory import store_records
from hub.inventory.routing import RoutingRulesError, rules_store, service
from hub.storage import audit_log
from hub.storage.audit_chain import verify
from hub.storage.engine import reading, writing
from hub.storage.tables.amazon import amazon_orders
from hub.storage.tables.core import stores
from hub.storage.tables.routing import routed_orders, routing_decisions
from tests.routing.db_support import (
    ADMIN,
    add_order,
    add_store,
    audits,
    publish_rules,
    put_stock,
)

MANAGER = Actor("rm-midwest", "regional_manager")
SPRINGFIELD = ("US", "62701")
PORTLAND = ("US", "97205")


def import_route(engine: Engine, rows: list[dict[str, Any]],
                 where: dict[str, tuple[str, str]]) -> int:
    with writing(engine) as tx:
        return service.route_new_orders(tx, "na", rows, where)


@pytest.fixture
def chain(engine: Engine) -> Engine:
    """Three US stores, each holding 3 of SKU-A (the default floor keeps 1 back: 2 usable)."""
    for store in ("us-spi", "us-chi", "us-pdx"):
        add_store(engine, store)
        put_stock(engine, store, "SKU-A", 3)
    publish_rules(engine)
    return engine


def test_routed_on_import_to_the_nearest_store_and_audited(chain: Engine) -> None:
    rows = [add_order(chain, "111-0000001-0000001", [("SKU-A", 1)]),
            add_order(chain, "111-0000002-0000002", [("SKU-A", 2)]),
            add_order(chain, "111-0000003-0000003", [("SKU-A", 1)], fulfilled_by="AMAZON"),
            add_order(chain, "111-0000004-0000004", [("SKU-A", 1)], status="PENDING")]
    where = {"111-0000001-0000001": SPRINGFIELD, "111-0000002-0000002": PORTLAND,
             "111-0000003-0000003": SPRINGFIELD, "111-0000004-0000004": SPRINGFIELD}
    assert import_route(chain, rows, where) == 2  # FBA and PENDING orders are not routed
    assert import_route(chain, rows, where) == 0  # routed once only
    with reading(chain) as conn:
        first = service.detail(conn, "111-0000001-0000001")
        second = service.detail(conn, "111-0000002-0000002")
    assert (first["status"], first["stores"]) == ("routed", ["us-spi"])
    assert (second["status"], second["stores"]) == ("routed", ["us-pdx"])
    spi = next(s for s in first["decision"]["stores"] if s["store_id"] == "us-spi")
    assert spi["distance_km"] < 3 and spi["rank"] == 1
    assert first["decision"]["rules_version"] == 2
    routed = audits(chain, "order.routed")
    assert [(a.entity_id, a.actor, a.after["stores"]) for a in routed] == [
        ("na/111-0000001-0000001", "system", ["us-spi"]),
        ("na/111-0000002-0000002", "system", ["us-pdx"])]
    with reading(chain) as conn:
        assert verify(audit_log.entries(conn), audit_log.read_tip(conn)).ok


def test_an_order_nobody_can_fill_is_stored_unroutable_with_why(chain: Engine) -> None:
    rows = [add_order(chain, "111-0000005-0000005", [("SKU-A", 3)]),
            add_order(chain, "111-0000006-0000006", [("SKU-NONE", 1)]),
            add_order(chain, "111-0000007-0000007", [("SKU-A", 1)])]
    import_route(chain, rows, {"111-0000005-0000005": SPRINGFIELD,
                               "111-0000006-0000006": SPRINGFIELD})
    with reading(chain) as conn:
        too_many = service.detail(conn, "111-0000005-0000005")
        unknown = service.detail(conn, "111-0000006-0000006")
        nowhere = service.detail(conn, "111-0000007-0000007")
    assert too_many["status"] == "unroutable" and too_many["stores"] == []
    assert "no single store can fill the whole order" in too_many["decision"]["reasons"][0]
    assert unknown["decision"]["reasons"] == ["no store can ship any of it"]
    assert nowhere["decision"]["reasons"] == [
        "no delivery country and postal code known for the order"]


def test_open_routes_hold_their_units(chain: Engine) -> None:
    """Two units usable at Springfield: the third order for one unit goes to Chicago."""
    rows = [add_order(chain, f"111-000000{n}-0000000", [("SKU-A", 1)]) for n in (1, 2, 3)]
    import_route(chain, rows, {r["order_id"]: SPRINGFIELD for r in rows})
    with reading(chain) as conn:
        stores = [service.detail(conn, r["order_id"])["stores"] for r in rows]
    assert stores == [["us-spi"], ["us-spi"], ["us-chi"]]


def test_capacity_counts_the_packages_already_routed(engine: Engine) -> None:
    for store in ("us-spi", "us-chi"):
        add_store(engine, store)
        put_stock(engine, store, "SKU-A", 10)
    publish_rules(engine, capacity=1)
    rows = [add_order(engine, f"111-000000{n}-0000000", [("SKU-A", 1)]) for n in (1, 2, 3)]
    import_route(engine, rows, {r["order_id"]: SPRINGFIELD for r in rows})
    with reading(engine) as conn:
        found = [service.detail(conn, r["order_id"]) for r in rows]
    assert [f["stores"] for f in found[:2]] == [["us-spi"], ["us-chi"]]
    # horizon_days 1: each store has one more day; both are full today, so tomorrow it is.
    third = found[2]["decision"]["packages"][0]
    assert third["store_id"] == "us-spi" and third["ship_date"] > found[0]["decision"][
        "packages"][0]["ship_date"]


def test_a_manager_routes_by_hand_audited(chain: Engine) -> None:
    row = add_order(chain, "111-0000008-0000008", [("SKU-A", 1)])
    import_route(chain, [row], {row["order_id"]: SPRINGFIELD})
    answer = service.reroute(chain, row["order_id"], MANAGER, "customer asked for Chicago",
                             store="us-chi")
    assert answer["status"] == "manual" and answer["attempt"] == 2
    with reading(chain) as conn:
        found = service.detail(conn, row["order_id"])
    assert found["stores"] == ["us-chi"]
    assert found["decision"]["reasons"][0] == (
        "routed by hand to us-chi by rm-midwest: customer asked for Chicago")
    assert "us-spi fills the whole order" in found["decision"]["reasons"][1]
    assert [h["cause"] for h in found["history"]] == ["import", "manual"]
    (entry,) = audits(chain, "order.rerouted")
    assert (entry.actor, entry.role, entry.reason) == (
        "rm-midwest", "regional_manager", "customer asked for Chicago")
    assert entry.before["stores"] == ["us-spi"] and entry.after["stores"] == ["us-chi"]
    # by the rules again: back to the nearest
    again = service.reroute(chain, row["order_id"], MANAGER, "by the rules")
    assert again["status"] == "routed" and again["decision"]["packages"][0]["store_id"] == \
        "us-spi"


@pytest.mark.parametrize(("store", "reason", "error"), [
    ("us-nope", "why not", NotFound),
    ("us-chi", "  ", InputError),
    ("us-chi", "x" * 501, InputError),
])
def test_manual_route_refusals(chain: Engine, store: str, reason: str,
                               error: type[Exception]) -> None:
    row = add_order(chain, "111-0000009-0000009", [("SKU-A", 1)])
    import_route(chain, [row], {row["order_id"]: SPRINGFIELD})
    with pytest.raises(error):
        service.reroute(chain, row["order_id"], MANAGER, reason, store=store)
    with pytest.raises(NotFound):
        service.reroute(chain, "111-9999999-9999999", MANAGER, "no such order")
    assert audits(chain, "order.rerouted") == []


def test_a_store_gives_an_order_back_and_it_is_routed_again_without_it(chain: Engine) -> None:
    row = add_order(chain, "111-0000010-0000010", [("SKU-A", 1)])
    import_route(chain, [row], {row["order_id"]: SPRINGFIELD})
    clerk = Actor("spi-manager", "store_manager")
    first = service.give_back(chain, row["order_id"], "us-spi", clerk, "shelf is empty")
    assert first["status"] == "routed" and first["given_back"] == ["us-spi"]
    assert first["decision"]["packages"][0]["store_id"] == "us-chi"
    with pytest.raises(Conflict):  # Springfield has no package of it any more
        service.give_back(chain, row["order_id"], "us-spi", clerk, "again")
    second = service.give_back(chain, row["order_id"], "us-chi", clerk, "damaged")
    assert second["decision"]["packages"][0]["store_id"] == "us-pdx"
    third = service.give_back(chain, row["order_id"], "us-pdx", clerk, "lost it")
    assert third["status"] == "unroutable" and third["given_back"] == [
        "us-chi", "us-pdx", "us-spi"]
    given = audits(chain, "order.given_back")
    assert [(g.before["stores"], g.after["stores"], g.reason) for g in given] == [
        (["us-spi"], ["us-chi"], "shelf is empty"), (["us-chi"], ["us-pdx"], "damaged"),
        (["us-pdx"], [], "lost it")]
    with reading(chain) as conn:
        attempts = conn.scalars(select(routing_decisions.c.cause).where(
            routing_decisions.c.order_id == row["order_id"])
            .order_by(routing_decisions.c.attempt)).all()
        status = conn.scalar(select(routed_orders.c.status))
        assert verify(audit_log.entries(conn), audit_log.read_tip(conn)).ok
    assert attempts == ["import", "give_back", "give_back", "give_back"]
    assert status == "unroutable"


def test_rules_versions_only_grow_and_are_audited(engine: Engine) -> None:
    with reading(engine) as conn:
        assert rules_store.active(conn).name == "Default routing"  # shipped, before any
    publish_rules(engine, version=3)
    with pytest.raises(RoutingRulesError, match="higher than the active version 3"):
        publish_rules(engine, version=3)
    with pytest.raises(RoutingRulesError, match="max_packages"), writing(engine) as tx:
        rules_store.publish(tx, "schema_version: 1\nversion: 9\nname: x\nmax_packages: 0\n",
                            ADMIN.name, ADMIN.role)
    with reading(engine) as conn:
        assert rules_store.active(conn).version == 3
    (entry,) = audits(engine, "routing_rules.published")
    assert entry.before["version"] == 1 and entry.after["version"] == 3


def test_a_shipped_or_cancelled_order_is_not_routed_again(chain: Engine) -> None:
    rows = [add_order(chain, f"111-000002{n}-0000000", [("SKU-A", 1)]) for n in (1, 2)]
    import_route(chain, rows, {r["order_id"]: SPRINGFIELD for r in rows})
    with writing(chain) as tx:
        tx.conn.execute(update(amazon_orders).where(
            amazon_orders.c.order_id == rows[0]["order_id"]).values(status="SHIPPED"))
        tx.conn.execute(update(amazon_orders).where(
            amazon_orders.c.order_id == rows[1]["order_id"]).values(status="CANCELLED"))
    with pytest.raises(Conflict, match="is SHIPPED"):
        service.give_back(chain, rows[0]["order_id"], "us-spi", MANAGER, "too late")
    with pytest.raises(Conflict, match="is CANCELLED"):
        service.reroute(chain, rows[1]["order_id"], MANAGER, "too late", store="us-chi")
    # the cancelled order's package no longer takes capacity; the shipped one's still does
    with reading(chain) as conn:
        inputs = service.load_inputs(conn, datetime.now(UTC), ["SKU-A"])
    assert sum(inputs.loads["us-spi"].values()) == 1
    assert audits(chain, "order.given_back") == audits(chain, "order.rerouted") == []


def test_items_that_cannot_be_routed_make_the_order_unroutable_not_the_page_fail(
        chain: Engine) -> None:
    rows = [add_order(chain, "111-0000031-0000000", [("SKU-A", 0)]),
            add_order(chain, "111-0000032-0000000", [(None, 1)]),  # type: ignore[list-item]
            add_order(chain, "111-0000033-0000000", [("SKU-A", 0), ("SKU-A", 1)])]
    assert import_route(chain, rows, {r["order_id"]: SPRINGFIELD for r in rows}) == 3
    with reading(chain) as conn:
        found = [service.detail(conn, r["order_id"]) for r in rows]
    assert [f["decision"]["reasons"] for f in found[:2]] == [
        ["the order has no units to ship"], ["an item of the order has no SKU"]]
    assert found[2]["stores"] == ["us-spi"]  # the cancelled item is left out


def test_routing_reads_every_active_store_s_record_in_one_statement(chain: Engine) -> None:
    """``active_records`` gives what ``get_record`` gives store by store (a store without a
    record an empty one of its time zone), and leaves decommissioned stores out."""
    with writing(chain) as tx:
        tx.conn.execute(stores.insert().values(store_id="us-new", time_zone="America/Chicago",
                                               created_at=tx.now))
        tx.conn.execute(stores.insert().values(store_id="us-old", created_at=tx.now,
                                               decommissioned_at=tx.now))
    with reading(chain) as conn:
        every = store_records.active_records(conn)
        one_by_one = {store: found[0] for store in ("us-chi", "us-new", "us-pdx", "us-spi")
                      if (found := store_records.get_record(conn, store)) is not None}
    assert list(every) == ["us-chi", "us-new", "us-pdx", "us-spi"]
    assert every == one_by_one
    assert every["us-spi"].coordinates is not None and every["us-new"].coordinates is None
