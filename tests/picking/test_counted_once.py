"""Each unit a pick task holds is taken off a store's sellable units once: by the route while
the hub has not seen the store reserve it, by the stock view's ``reserved`` after (real hub
database on SQLite and PostgreSQL; the stock view set as the ingest leaves it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, update

from hub.inventory.routing import service
from hub.storage.engine import reading, writing
from hub.storage.tables.inventory import stock_levels
from hub.storage.tables.picking import pick_tasks
from protocol import StockState
from tests.edge.conftest import NODE, STORE
from tests.picking.flow_support import two_stores
from tests.picking.test_picking_flow import ORDER, OTHER, SPRINGFIELD, routed
from tests.routing.db_support import add_order


@pytest.mark.parametrize(("routed_units", "reserved", "expected"), [
    (0, 0, 0),
    (2, 0, 2),   # not reserved yet (or not seen): the route holds all
    (2, 1, 1),   # one seen reserved: one still to take off
    (2, 2, 0),   # all seen reserved: sellable is net of them already
    (2, 5, 0),   # more reserved than routed: nothing more
    (0, 3, 0),
    (3, -1, 3),  # a negative figure counts as none
])
def test_unseen_routed_units(routed_units: int, reserved: int, expected: int) -> None:
    assert service.unseen(routed_units, reserved) == expected


def view(engine: Engine, store: str, **states: int) -> None:
    """The hub's stock view of SKU-A at ``store`` (as the ingest of the store's moves sets it)."""
    now = datetime.now(UTC)
    with writing(engine) as tx:
        tx.conn.execute(stock_levels.delete().where(stock_levels.c.store_id == store,
                                                    stock_levels.c.sku == "SKU-A"))
        for state, quantity in states.items():
            tx.conn.execute(stock_levels.insert().values(
                store_id=store, sku="SKU-A", state=StockState(state).value, quantity=quantity,
                as_of=now, updated_at=now))


def usable_at(engine: Engine, store: str) -> int:
    with reading(engine) as conn:
        inputs = service.load_inputs(conn, datetime.now(UTC), ["SKU-A"])
    return inputs.usable(["SKU-A"]).usable[("SKU-A", store)].sellable


# Store A had 3 of SKU-A; an order for 2 was routed to it and its pick task sent.
@pytest.mark.parametrize(("sellable", "reserved", "task", "expected"), [
    (3, 0, "open", 1),      # the store has not reserved yet (or the hub has not seen it)
    (1, 2, "open", 1),      # reserved and seen: taken off once, not twice (was 0)
    (2, 1, "open", 1),      # the store had only 1 to reserve when it got the task
    (0, 1, "open", 0),      # ... and nothing else: none usable
    (1, 0, "shipped", 1),   # shipped and seen: the units left on hand (was 0)
    (3, 0, "withdrawn", 3),  # withdrawn, reservation released: free again (was 1)
])
def test_routed_units_are_taken_off_once(engine: Engine, sellable: int, reserved: int,
                                         task: str, expected: int) -> None:
    two_stores(engine, STORE, OTHER, NODE)
    routed(engine, [("SKU-A", 2)])
    with writing(engine) as tx:
        tx.conn.execute(update(pick_tasks).values(status=task))
    view(engine, STORE, sellable=sellable, reserved=reserved)
    assert usable_at(engine, STORE) == expected


def test_a_second_order_goes_to_the_store_whose_reservation_the_hub_saw(
        engine: Engine) -> None:
    """Springfield holds 4 and reserved 2 for the first order: two units are still there (one
    above the default safety floor of 1), so the next order for one goes to Springfield too,
    not to Chicago."""
    two_stores(engine, STORE, OTHER, NODE)
    routed(engine, [("SKU-A", 2)])
    view(engine, STORE, sellable=2, reserved=2)
    second = "111-0000002-0000002"
    rows = [add_order(engine, second, [("SKU-A", 1)])]
    with writing(engine) as tx:
        assert service.route_new_orders(tx, "na", rows, {second: SPRINGFIELD[ORDER]}) == 1
    with reading(engine) as conn:
        assert service.detail(conn, second)["stores"] == [STORE]
