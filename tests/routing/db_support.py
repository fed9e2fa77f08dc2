"""Builders for the routing tests on a real database: US stores, stock, rules, synced orders."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from hub.access.users import Actor
from hub.inventory.routing import rules_store
from hub.inventory.store_records import StoreRecord, set_record
from hub.storage.engine import reading, writing
from hub.storage.tables.amazon import amazon_orders
from hub.storage.tables.core import audit_log
from hub.storage.tables.inventory import stock_levels
from protocol import StockState

ADMIN = Actor("hq-admin", "admin")
# Real places (city halls, decimal degrees) and their zones.
US_PLACES = {
    "us-spi": ("39.801700", "-89.643700", "IL", "America/Chicago"),   # Springfield, IL
    "us-chi": ("41.883700", "-87.631900", "IL", "America/Chicago"),   # Chicago
    "us-pdx": ("45.515200", "-122.678400", "OR", "America/Los_Angeles"),  # Portland, OR
}
ALL_DAY = [{"opens": "00:00", "closes": "24:00"}]
# Always open and a cut-off at midnight: routing on the wall clock cannot depend on the hour.
RULES = """schema_version: 1
version: {version}
name: test routing
max_packages: {max_packages}
cutoff: {{default: "24:00"}}
capacity: {{default: {capacity}}}
horizon_days: 1
"""


def add_store(engine: Engine, store_id: str, ship: bool = True, place: str | None = None) -> None:
    """A US store at ``place`` (its id by default) with a full record, open around the clock."""
    lat, lon, state, zone = US_PLACES[place or store_id]
    record = StoreRecord.model_validate({
        "address": {"street": "1 Main St", "postal_code": "00000", "city": state,
                    "country": "US"},
        "coordinates": {"latitude": Decimal(lat), "longitude": Decimal(lon)},
        "time_zone": zone,
        "hours": {day: ALL_DAY for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "capabilities": {"ship_from_store": ship},
    })
    set_record(engine, store_id, record, ADMIN)


def put_stock(engine: Engine, store_id: str, sku: str, sellable: int) -> None:
    """Set a store's sellable units of a SKU in the hub's stock view."""
    now = datetime.now(UTC)
    with writing(engine) as tx:
        tx.conn.execute(stock_levels.delete().where(
            stock_levels.c.store_id == store_id, stock_levels.c.sku == sku,
            stock_levels.c.state == StockState.SELLABLE.value))
        tx.conn.execute(stock_levels.insert().values(
            store_id=store_id, sku=sku, state=StockState.SELLABLE.value, quantity=sellable,
            as_of=now, updated_at=now))


def publish_rules(engine: Engine, version: int = 2, max_packages: int = 1,
                  capacity: int = 50) -> None:
    """Publish clock-independent routing rules."""
    with writing(engine) as tx:
        rules_store.publish(tx, RULES.format(version=version, max_packages=max_packages,
                                             capacity=capacity), ADMIN.name, ADMIN.role)


def add_order(engine: Engine, order_id: str, items: list[tuple[str, int]],
              status: str = "UNSHIPPED", fulfilled_by: str = "MERCHANT") -> dict[str, Any]:
    """An Amazon order row as the orders sync stores it."""
    now = datetime.now(UTC)
    row = {"account": "na", "order_id": order_id, "marketplace_id": "ATVPDKIKX0DER",
           "status": status, "fulfilled_by": fulfilled_by, "purchased_at": now,
           "last_updated_at": now, "currency": "USD", "total": Decimal("10.00"),
           "items": [{"order_item_id": f"{order_id}-{i}", "sku": sku, "asin": None,
                      "quantity": quantity, "unit_price": "5.00", "currency": "USD"}
                     for i, (sku, quantity) in enumerate(items)],
           "buyer_key": None, "deliver_by": None, "content_hash": order_id,
           "first_seen_at": now, "updated_at": now}
    with writing(engine) as tx:
        tx.conn.execute(amazon_orders.insert().values(**row))
    return row


def audits(engine: Engine, action: str) -> list[Any]:
    """Audit entries of ``action``, oldest first."""
    with reading(engine) as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action)
                                 .order_by(audit_log.c.seq)).all())
