"""A real broker, a real `acorn-hub serve` and a real store agent, and one Amazon MFN order
(with the destination postcode the routing kept) seeded into the hub's SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hub.access.users import Actor
from hub.inventory.store_records import StoreRecord, set_record
from hub.storage.engine import make_engine, writing
from hub.storage.outbox import ensure_node
from hub.storage.tables.amazon import amazon_orders
from hub.storage.tables.routing import routed_orders
from protocol import utc_now
from tests.hub.conftest import db_url, engine  # noqa: F401 - fixtures
from tests.support.broker import TestBroker
from tests.support.procs import Proc, edge_proc, hub_proc, stop_all

ORDER = "113-4455667-1234567"
POSTCODE = "02108"  # Boston, in the shipped US centroid table
US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"
DE_ORDER = "305-1112223-3334445"
DE_POSTCODE = "10115"
WEEK = {day: [{"opens": "00:00", "closes": "24:00"}]
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@dataclass
class Running:
    hub: Proc
    edge: Proc
    tmp: Path


def _record(street: str, postcode: str, lat: str, lon: str, returns: bool = True,
            city: str = "Boston", country: str = "US",
            zone: str = "America/New_York") -> StoreRecord:
    return StoreRecord.model_validate({
        "address": {"street": street, "postal_code": postcode, "city": city, "country": country},
        "coordinates": {"latitude": lat, "longitude": lon}, "time_zone": zone,
        "hours": WEEK, "capabilities": {"returns": returns}})


def seed(url: str) -> None:
    """Seed the hub database at ``url``."""
    hub_engine = make_engine(url)
    try:
        seed_engine(hub_engine)
    finally:
        hub_engine.dispose()


def seed_engine(target: Engine) -> None:
    """The order, its route (postcode), three stores (one far, one not taking returns)."""
    now = utc_now()
    actor = Actor("seed", "admin")
    set_record(target, "store-a", _record("1 Tremont St", "02108", "42.357", "-71.063"), actor)
    set_record(target, "store-far", _record("9 Main St", "02601", "41.65", "-70.28"), actor)
    set_record(target, "store-no", _record("2 Court St", "02108", "42.358", "-71.06", False),
               actor)
    set_record(target, "store-de", _record("Unter den Linden 1", "10117", "52.517", "13.389",
                                           city="Berlin", country="DE", zone="Europe/Berlin"),
               actor)
    with writing(target) as tx:
        for store in ("store-a", "store-far", "store-no", "store-de"):
            ensure_node(tx.conn, store, "n1", tx.now)
        tx.conn.execute(amazon_orders.insert().values(
            account="na", order_id=ORDER, marketplace_id=US, status="SHIPPED",
            fulfilled_by="MERCHANT", purchased_at=now - timedelta(days=6),
            last_updated_at=now - timedelta(days=5), currency="USD", total=Decimal("84.98"),
            items=[{"order_item_id": "1", "sku": "MUG-01", "asin": "B000MUG001", "quantity": 2,
                    "unit_price": "12.50", "currency": "USD"},
                   {"order_item_id": "2", "sku": "LAMP-9", "asin": "B000LAMP09", "quantity": 1,
                    "unit_price": "59.98", "currency": "USD"}],
            buyer_key=None, deliver_by=now - timedelta(days=3), content_hash="0" * 64,
            first_seen_at=now, updated_at=now))
        tx.conn.execute(amazon_orders.insert().values(  # delivered long ago: window closed
            account="na", order_id="113-0000000-0000001", marketplace_id=US, status="SHIPPED",
            fulfilled_by="MERCHANT", purchased_at=now - timedelta(days=90),
            last_updated_at=now - timedelta(days=85), currency="USD", total=Decimal("10.00"),
            items=[{"order_item_id": "1", "sku": "OLD-1", "asin": None, "quantity": 1,
                    "unit_price": "10.00", "currency": "USD"}],
            buyer_key=None, deliver_by=now - timedelta(days=85), content_hash="1" * 64,
            first_seen_at=now, updated_at=now))
        tx.conn.execute(amazon_orders.insert().values(  # an Amazon.de order to Berlin
            account="eu", order_id=DE_ORDER, marketplace_id=DE, status="SHIPPED",
            fulfilled_by="MERCHANT", purchased_at=now - timedelta(days=4),
            last_updated_at=now - timedelta(days=3), currency="EUR", total=Decimal("19.90"),
            items=[{"order_item_id": "1", "sku": "TASSE-1", "asin": None, "quantity": 1,
                    "unit_price": "19.90", "currency": "EUR"}],
            buyer_key=None, deliver_by=now - timedelta(days=2), content_hash="2" * 64,
            first_seen_at=now, updated_at=now))
        for account, order_id, market, country, postcode in (
                ("na", ORDER, US, "US", POSTCODE),
                ("na", "113-0000000-0000001", US, "US", POSTCODE),
                ("eu", DE_ORDER, DE, "DE", DE_POSTCODE)):
            tx.conn.execute(routed_orders.insert().values(
                account=account, order_id=order_id, marketplace_id=market, country=country,
                postal_code=postcode, status="routed", given_back=[], decision={},
                rules_version=1, attempt=1, routed_at=now, routed_by="system"))


@pytest.fixture
def running(broker: TestBroker, tmp_path: Path) -> Iterator[Running]:
    hub = hub_proc(tmp_path, broker.hub_creds())
    edge = edge_proc(tmp_path, "store-a", "n1", broker.node_creds("store-a", "n1"))
    try:
        hub.start()
        seed(hub.env["ACORN_HUB_DATABASE_URL"])
        edge.start()
        yield Running(hub, edge, tmp_path)
    finally:
        stop_all([hub, edge])
