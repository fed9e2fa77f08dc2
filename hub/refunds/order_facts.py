"""What the refund policy may know about synced Amazon orders: ``OrderFacts``, ``load_order_facts``.

Rules:
- one SELECT per ``CHUNK`` order ids (a batch of refunds costs one query, whatever its size);
- an order's facts are its marketplace, purchase time, buyer key (a keyed hash, never the email)
  and promised latest delivery (``deliver_by``), as the orders sync stored them;
- an order id that two accounts hold with different facts is left out (the hub cannot tell which
  sale the refund is for); held alike by both, it is kept once;
- ids the sync does not hold are simply absent from the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from hub.storage.tables.amazon import amazon_orders

CHUNK = 500


@dataclass(frozen=True)
class OrderFacts:
    """What the Amazon sync knows about one order (never the buyer's name, email or address)."""

    order_id: str
    marketplace_id: str
    purchased_at: datetime
    buyer_key: str | None = None  # a keyed hash of Amazon's anonymised buyer email; None: unknown
    deliver_by: datetime | None = None  # the promised latest delivery; None: not known


def load_order_facts(conn: Connection, order_ids: set[str]) -> dict[str, OrderFacts]:
    """The synced facts of the orders with these ids that the accounts agree on."""
    found: dict[str, set[tuple[str, datetime, str | None, datetime | None]]] = {}
    wanted = sorted(order_ids)
    columns = (amazon_orders.c.order_id, amazon_orders.c.marketplace_id,
               amazon_orders.c.purchased_at, amazon_orders.c.buyer_key,
               amazon_orders.c.deliver_by)
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(select(*columns).where(
            amazon_orders.c.order_id.in_(wanted[start:start + CHUNK])))
        for r in rows:
            found.setdefault(r.order_id, set()).add(
                (r.marketplace_id, r.purchased_at, r.buyer_key, r.deliver_by))
    return {order_id: OrderFacts(order_id, *facts.pop())
            for order_id, facts in found.items() if len(facts) == 1}
