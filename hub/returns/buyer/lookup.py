"""Find an order by its id and destination postcode, revealing nothing when either is wrong.

Rules: both reads (the order and its route) always run, whatever the first one found; the
postcodes are compared normalised (``hub.inventory.routing.geo.normalise``) by constant-time
comparison of their hashes, against a stand-in when the order is unknown; any miss raises the
same ``NoMatch`` with the same words.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from hub.errors import NotFound
from hub.inventory.routing.geo import normalise
from hub.storage.tables.amazon import amazon_orders
from hub.storage.tables.routing import routed_orders

NO_MATCH = "no order matches this order number and postcode"
_STAND_IN = ("US", "\x00no-such-postcode")


class NoMatch(NotFound):
    """Unknown order, wrong postcode or an order without one: always the same answer."""

    def __init__(self) -> None:
        super().__init__(NO_MATCH, field="order")


@dataclass(frozen=True)
class OrderFacts:
    """What the page needs of one order (nothing of the buyer beyond the postcode given)."""

    account: str
    order_id: str
    marketplace_id: str
    status: str
    fulfilled_by: str
    purchased_at: datetime
    deliver_by: datetime | None
    items: tuple[dict[str, Any], ...]
    buyer_key: str | None
    country: str
    postal_code: str


def _digest(country: str, postal_code: str) -> bytes:
    return hashlib.sha256(f"{country}|{normalise(country, postal_code)}".encode()).digest()


def find_order(conn: Connection, order_id: str, postcode: str) -> OrderFacts:
    """The order with this id shipped to this postcode; ``NoMatch`` otherwise."""
    order = conn.execute(select(amazon_orders).where(amazon_orders.c.order_id == order_id)
                         .order_by(amazon_orders.c.account).limit(1)).first()
    route = conn.execute(select(routed_orders.c.account, routed_orders.c.country,
                                routed_orders.c.postal_code)
                         .where(routed_orders.c.order_id == order_id)
                         .order_by(routed_orders.c.account).limit(1)).first()
    known = (order is not None and route is not None and route.account == order.account
             and bool(route.country) and bool(route.postal_code))
    country, stored = (route.country, route.postal_code) if known and route else _STAND_IN
    same = hmac.compare_digest(_digest(country, stored), _digest(country, postcode))
    if not (known and same) or order is None:
        raise NoMatch()
    return OrderFacts(order.account, order.order_id, order.marketplace_id, order.status,
                      order.fulfilled_by, order.purchased_at, order.deliver_by,
                      tuple(order.items or ()), order.buyer_key, country, stored)
