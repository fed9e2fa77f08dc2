"""Routing on order import, through the real SP-API simulator and python-amazon-sp-api: every
new merchant-fulfilled order that is unshipped is routed to the nearest store holding it, in the
transaction that stores it; FBA, shipped and cancelled orders are not; a second sync routes
nothing again; of the buyer's address only country and postal code are kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine, select

from hub.amazon.settings import AmazonSettings
from hub.storage.engine import reading
from hub.storage.tables.routing import routed_orders, routing_decisions
from tests.amazon.conftest import Sim
from tests.amazon.helpers import add_accounts, sync
from tests.routing.db_support import add_store, audits, publish_rules, put_stock

US = "ATVPDKIKX0DER"
NEAREST = {"62701": "us-spi", "97205": "us-pdx"}  # the simulator's two US buyers


def test_new_mfn_orders_are_routed_on_import(engine: Engine, make_sim: Callable[..., Sim],
                                             amazon_settings: AmazonSettings) -> None:
    sim = make_sim(orders_per_day=12)
    seller = sim.sellers[0]
    orders = [o for o in sim.simulator.world.orders(seller.seller_id) if o.marketplace_id == US]
    wanted = {o.order_id: o for o in orders
              if o.fulfilled_by == "MERCHANT" and o.status == "UNSHIPPED"}
    assert len(wanted) >= 3, "the simulator should hold some unshipped MFN orders"
    assert any(o.fulfilled_by == "AMAZON" and o.status == "UNSHIPPED" for o in orders)
    for store in ("us-spi", "us-pdx", "us-chi"):
        add_store(engine, store)
    for sku in {item.sku for o in orders for item in o.items}:
        for store in ("us-spi", "us-pdx"):
            put_stock(engine, store, sku, 100)
    publish_rules(engine)
    accounts = add_accounts(engine, sim, amazon_settings, {"na": (0, ("US",))})

    result = sync(engine, amazon_settings, accounts, jobs=["orders"])
    assert result["na"].ok, result["na"]

    with reading(engine) as conn:
        rows = {r.order_id: r for r in conn.execute(select(routed_orders))}
    assert set(rows) == set(wanted)
    for order_id, row in rows.items():
        buyer = wanted[order_id].buyer
        assert (row.country, row.postal_code) == ("US", buyer.postal_code)
        assert row.status == "routed", row.decision["reasons"]
        stores = [p["store_id"] for p in row.decision["packages"]]
        assert stores == [NEAREST[buyer.postal_code]]
        assert [s["store_id"] for s in row.decision["stores"]] == ["us-pdx", "us-spi"]
        assert row.decision["stores_without_stock"] == 1  # us-chi holds none of it
        # nothing else of the address is kept
        kept = json.dumps(row.decision) + json.dumps(row.given_back)
        assert buyer.name not in kept and buyer.line1 not in kept and buyer.city not in kept
    assert len(audits(engine, "order.routed")) == len(wanted)

    # again from the start: every order is read a second time
    since = min(o.created for o in orders) - timedelta(days=1)
    again = sync(engine, amazon_settings, accounts, jobs=["orders"], since=since)
    assert again["na"].ok
    with reading(engine) as conn:
        attempts = conn.scalars(select(routing_decisions.c.attempt)).all()
    assert sorted(attempts) == [1] * len(wanted)
    assert len(audits(engine, "order.routed")) == len(wanted)
