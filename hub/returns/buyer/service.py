"""Look an order up for the buyer, and book a return to a chosen store.

Rules: see the package docstring. ``look_up`` and ``book`` each count one request against the
rate limiter before they read anything; ``book`` checks everything again inside its one writing
transaction (order and postcode, items still returnable, the store offered), so a double click
or two tabs cannot book the same item twice.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select

from hub.errors import Conflict, InputError
from hub.policy.store import active, ensure_seeded
from hub.returns.buyer.eligibility import ItemView, eligible_items
from hub.returns.buyer.lookup import OrderFacts, find_order
from hub.returns.buyer.stores import StoreView, nearby_stores
from hub.returns.buyer.throttle import Limits, admit
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import reading, writing
from hub.storage.outbox import CommandDraft, queue
from hub.storage.tables.amazon import amazon_returns
from hub.storage.tables.buyer import buyer_returns
from hub.storage.tables.core import nodes
from protocol import Channel, ExpectedReturn, minor_units, new_message_id

ACTOR = ("buyer", "buyer")
CODE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"  # no 0/O, 1/I, 2/Z, 5/S, 8/B look-alikes
EXPECTED_FOR = timedelta(days=30)


@dataclass(frozen=True)
class OrderView:
    """What the page shows to someone who gave the right order id and postcode."""

    order_id: str
    marketplace_id: str
    items: tuple[ItemView, ...]
    stores: tuple[StoreView, ...]


@dataclass(frozen=True)
class Booked:
    """A return booked to a store: the code to show at its counter."""

    code: str
    order_id: str
    store: StoreView
    items: tuple[dict[str, Any], ...]
    expected_by: datetime


def new_code() -> str:
    """A fresh return code, e.g. ``BR-7KQ4-MX9C`` (easy to read out and to type)."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"BR-{chars[:4]}-{chars[4:]}"


def _taken(conn: Connection, order: OrderFacts) -> Counter[str]:
    taken: Counter[str] = Counter()
    for sku, quantity in conn.execute(select(amazon_returns.c.sku, amazon_returns.c.quantity)
                                      .where(amazon_returns.c.account == order.account,
                                             amazon_returns.c.order_id == order.order_id)):
        taken[sku] += int(quantity)
    for (items,) in conn.execute(select(buyer_returns.c["items"]).where(
            buyer_returns.c.account == order.account,
            buyer_returns.c.order_id == order.order_id)):
        for item in items:
            taken[str(item["sku"])] += int(item["quantity"])
    return taken


def _items(conn: Connection, order: OrderFacts, now: datetime) -> tuple[ItemView, ...]:
    policy = active(conn)
    if policy is None:
        raise Conflict("the refund policy is not set up yet; try again later")
    return eligible_items(order, policy.compiled, now, _taken(conn, order))


def look_up(engine: Engine, order_id: str, postcode: str, client: str | None, limits: Limits,
            now: datetime) -> OrderView:
    """The order's items and nearby stores; ``NoMatch`` unless id and postcode both fit."""
    admit(engine, client, limits, now)
    ensure_seeded(engine)
    with reading(engine) as conn:
        order = find_order(conn, order_id, postcode)
        items = _items(conn, order, now)
        stores = nearby_stores(conn, order.country, order.postal_code, now)
    return OrderView(order.order_id, order.marketplace_id, items, stores)


def _lines(wanted: Mapping[str, int], items: tuple[ItemView, ...]) -> list[ItemView]:
    by_sku = {item.sku: item for item in items}
    chosen = []
    for sku, quantity in wanted.items():
        item = by_sku.get(sku)
        if item is None:
            raise InputError(f"item {sku} is not part of this order", field="items")
        if not item.returnable or quantity > item.quantity:
            why = "; ".join(item.reasons) or f"only {item.quantity} may be returned"
            raise Conflict(f"item {sku} cannot be returned: {why}", field="items")
        chosen.append(ItemView(sku, item.asin, quantity, item.unit_price, item.currency, True, ()))
    if not chosen:
        raise InputError("choose at least one item to return", field="items")
    return chosen


def _return_item(item: ItemView) -> dict[str, Any]:
    currency = item.currency or "USD"
    exponent = Decimal(1).scaleb(-minor_units(currency))
    price = Decimal(item.unit_price or "0").quantize(exponent)
    return {"sku": item.sku, "quantity": item.quantity, "asin": item.asin,
            "unit_price": {"amount": format(price, "f"), "currency": currency}}


def _replay(conn: Connection, order: OrderFacts, request_id: str | None,
            stores: tuple[StoreView, ...]) -> Booked | None:
    if request_id is None:
        return None
    row = conn.execute(select(buyer_returns).where(buyer_returns.c.order_id == order.order_id,
                                                   buyer_returns.c.request_id == request_id)
                       ).first()
    store = next((s for s in stores if row is not None and s.store_id == row.store_id), None)
    if row is None or store is None:
        return None
    return Booked(row.code, order.order_id, store, tuple(row.items),
                  row.created_at + EXPECTED_FOR)


def book(engine: Engine, order_id: str, postcode: str, store_id: str, wanted: Mapping[str, int],
         client: str | None, limits: Limits, now: datetime,
         request_id: str | None = None) -> Booked:
    """Book the chosen items for return at ``store_id``; the store's nodes are told at once.

    A ``request_id`` already booked for this order answers that booking again (a retry)."""
    admit(engine, client, limits, now)
    ensure_seeded(engine)
    with writing(engine, now) as tx:
        order = find_order(tx.conn, order_id, postcode)
        stores = nearby_stores(tx.conn, order.country, order.postal_code, tx.now)
        again = _replay(tx.conn, order, request_id, stores)
        if again is not None:
            return again
        chosen = _lines(wanted, _items(tx.conn, order, tx.now))
        store = next((s for s in stores if s.store_id == store_id), None)
        if store is None:
            raise InputError("choose one of the stores offered for this order", field="store_id")
        code, expected_by = new_code(), tx.now + EXPECTED_FOR
        items = [_return_item(item) for item in chosen]
        body = ExpectedReturn(rma_id=code, order_id=order.order_id, channel=Channel.AMAZON_MFN,
                              marketplace_id=order.marketplace_id, items=items,
                              expected_by=expected_by)
        node_ids = sorted(tx.conn.execute(select(nodes.c.node_id)
                                          .where(nodes.c.store_id == store_id)).scalars())
        command_ids = queue(tx.conn, [CommandDraft(store_id, node, new_message_id(), body)
                                      for node in node_ids], tx.now)
        tx.conn.execute(buyer_returns.insert().values(
            code=code, account=order.account, order_id=order.order_id,
            marketplace_id=order.marketplace_id, store_id=store_id, items=items,
            created_at=tx.now, request_id=request_id))
        tx.audit(AuditDraft(*ACTOR, "buyer_return.created", "rma", f"{store_id}/{code}", None,
                            jsonable({"order_id": order.order_id, "store_id": store_id,
                                      "items": items, "nodes": node_ids, "command_ids": command_ids,
                                      "expected_by": expected_by.isoformat()})))
    return Booked(code, order.order_id, store, tuple(items), expected_by)
