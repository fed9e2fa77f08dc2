"""A package routed to a store that had no node yet is sent as a pick task once the store has
one (the orders sync calls ``send_waiting`` every run), once, and only while Amazon still lists
the order as open (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from hub.inventory.routing import picks, service
from hub.storage.engine import reading, writing
from hub.storage.outbox import ensure_node
from hub.storage.tables.amazon import amazon_orders
from hub.storage.tables.core import commands
from hub.storage.tables.picking import pick_tasks
from tests.routing.db_support import add_order, add_store, publish_rules, put_stock

SPRINGFIELD = {"111-0000001-0000001": ("US", "62701"), "111-0000001-0000002": ("US", "62701")}


def tasks(engine: Engine) -> list[tuple[str, str, str]]:
    with reading(engine) as conn:
        return [(r.order_id, r.store_id, r.node_id) for r in conn.execute(
            select(pick_tasks).order_by(pick_tasks.c.order_id))]


def pick_commands(engine: Engine) -> int:
    with reading(engine) as conn:
        return len(conn.execute(select(commands).where(
            commands.c.kind == "order.pick.task")).all())


def test_a_store_without_a_node_gets_its_task_when_it_has_one(engine: Engine) -> None:
    add_store(engine, "us-spi")  # no node yet
    put_stock(engine, "us-spi", "SKU-A", 5)
    publish_rules(engine)
    rows = [add_order(engine, order, [("SKU-A", 1)]) for order in sorted(SPRINGFIELD)]
    with writing(engine) as tx:
        assert service.route_new_orders(tx, "na", rows, SPRINGFIELD) == 2
        assert picks.send_waiting(tx, service.OPEN) == []  # still no node: nothing to send
    assert tasks(engine) == []

    with writing(engine) as tx:  # the store's first node enrols; one order was cancelled since
        ensure_node(tx.conn, "us-spi", "counter-1", tx.now)
        tx.conn.execute(update(amazon_orders).where(
            amazon_orders.c.order_id == "111-0000001-0000002").values(status="CANCELLED"))
    with writing(engine) as tx:
        sent = picks.send_waiting(tx, service.OPEN)
    assert len(sent) == 1
    assert tasks(engine) == [("111-0000001-0000001", "us-spi", "counter-1")]
    with writing(engine) as tx:
        assert picks.send_waiting(tx, service.OPEN) == []  # once
    assert pick_commands(engine) == 1
