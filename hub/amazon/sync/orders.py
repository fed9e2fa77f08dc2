"""The orders sync: Orders API ``2026-01-01`` ``searchOrders``, per marketplace, by last update.

Rules:
- each marketplace has its own cursor; a run asks for orders updated after it (``--since`` or
  the backfill for a first run) and follows ``pagination.nextToken`` page by page;
- every page is stored in one transaction together with the cursor, moved to the newest
  ``lastUpdatedTime`` on the page (results come oldest first); after the last page the cursor
  takes the ``lastUpdatedBefore`` Amazon answered with, so the next run starts where this one
  ended;
- only what returns and refunds need is kept: ids, status, fulfilment channel, times, total,
  the items (SKU, ASIN, quantity, unit price), the promised latest delivery
  (``fulfillment.deliverByWindow.latestDateTime``, UTC, as ``deliver_by``: return windows count
  from delivery) and the buyer key;
- the buyer: ``includedData`` asks for ``BUYER`` only so that the refund policy can recognise a
  repeat customer (count their earlier refunds, honour a customer risk flag). Of it, only
  ``buyer_key`` is kept: the keyed hash (``hub.amazon.buyer_key``, HMAC-SHA256 under the hub's
  customer key secret, ``hub.amazon.buyer_secret``) of ``buyerEmail``, Amazon's anonymised relay
  address, which Amazon gives for merchant-fulfilled orders only (FBA orders have no key). The
  email, the buyer's name and anything else of the buyer are dropped as the page is read: never
  stored, logged or put in a problem's sample;
- the delivery address (``RECIPIENT``) is asked for merchant-fulfilled orders to be routed to a
  store: of it only the country and the postal code are kept, by the routing
  (``hub.inventory.routing.service``), and the country on the order (``ship_country``: the EU
  OSS summary declares a sale where the goods arrive); name, street and phone are dropped as the
  page is read;
- each page's new routable MFN orders are routed in the transaction that stores them, so an
  order and its route commit together;
- an order that cannot be read is a problem (account, order id), not a stop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sp_api.base import ApiResponse

from hub.amazon.buyer_key import buyer_key
from hub.amazon.buyer_secret import secret_for
from hub.amazon.context import JobContext, iso, parse_iso
from hub.amazon.errors import AmazonApiError
from hub.amazon.marketplaces import Marketplace
from hub.amazon.store import Row, hashed, problem, upsert
from hub.amazon.sync import cursors
from hub.inventory.routing import picks
from hub.inventory.routing.service import OPEN, destination_of, route_new_orders
from hub.storage.engine import reading, writing
from hub.storage.tables.amazon import amazon_orders

JOB = "orders"
FIELDS = (
    "marketplace_id",
    "status",
    "fulfilled_by",
    "purchased_at",
    "last_updated_at",
    "currency",
    "total",
    "items",
    "buyer_key",
    "deliver_by",
    "ship_country",
)
INCLUDED = ["BUYER", "RECIPIENT", "PROCEEDS", "FULFILLMENT"]
PERSONAL = ("buyer", "recipient")  # never kept, not even in a problem's sample


def _money(value: dict[str, Any] | None) -> tuple[Decimal | None, str | None]:
    if not value:
        return None, None
    return Decimal(str(value["amount"])), str(value["currencyCode"])


def _deliver_by(fulfilment: dict[str, Any]) -> datetime | None:
    latest = (fulfilment.get("deliverByWindow") or {}).get("latestDateTime")
    return parse_iso(str(latest)) if latest else None


def _buyer_key(order: dict[str, Any], secret: bytes | None) -> str | None:
    email = (order.get("buyer") or {}).get("buyerEmail")
    return buyer_key(str(email), secret) if secret and email else None


def _ship_country(order: dict[str, Any]) -> str | None:
    country = ((order.get("recipient") or {}).get("deliveryAddress") or {}).get("countryCode")
    if not isinstance(country, str) or len(country.strip()) != 2 or not country.strip().isalpha():
        return None
    return country.strip().upper()


def order_row(account: str, order: dict[str, Any], secret: bytes | None = None) -> Row:
    """The stored form of one Orders API order; KeyError/ValueError when it is unreadable.

    ``secret`` is the customer key secret; without it the buyer key is None (not known)."""
    fulfilment = order.get("fulfillment") or {}
    total, currency = _money((order.get("proceeds") or {}).get("grandTotal"))
    items = []
    for item in order.get("orderItems") or []:
        product = item.get("product") or {}
        price, item_currency = _money((product.get("price") or {}).get("unitPrice"))
        items.append(
            {
                "order_item_id": str(item["orderItemId"]),
                "sku": product.get("sellerSku"),
                "asin": product.get("asin"),
                "quantity": int(item["quantityOrdered"]),
                "unit_price": None if price is None else format(price, "f"),
                "currency": item_currency,
            }
        )
    return {
        "account": account,
        "order_id": str(order["orderId"]),
        "marketplace_id": str(order["salesChannel"]["marketplaceId"]),
        "status": str(fulfilment.get("fulfillmentStatus", "")),
        "fulfilled_by": str(fulfilment.get("fulfilledBy", "")),
        "purchased_at": parse_iso(order["createdTime"]),
        "last_updated_at": parse_iso(order["lastUpdatedTime"]),
        "currency": currency or (items[0]["currency"] if items else None),
        "total": total,
        "items": items,
        "buyer_key": _buyer_key(order, secret),
        "deliver_by": _deliver_by(fulfilment),
        "ship_country": _ship_country(order),
    }


def sync_orders(ctx: JobContext) -> None:
    """Fetch new and updated orders of every marketplace of the account."""
    ctx.progress.plan(len(ctx.account.marketplaces))
    secret = secret_for(ctx.engine, ctx.settings)
    for market in ctx.account.marketplaces:
        _marketplace(ctx, market, secret)
        ctx.progress.step()
    with writing(ctx.engine) as tx:  # once a run: a store that got its first node since its route
        picks.send_waiting(tx, OPEN)


def _marketplace(ctx: JobContext, market: Marketplace, secret: bytes) -> None:
    with reading(ctx.engine) as conn:
        cursor = cursors.load(conn, ctx.account.name, JOB, market.marketplace_id)
    start = cursors.start_from(cursor.position, ctx.since, ctx.now(), ctx.settings.backfill_days)
    query: dict[str, Any] = {
        "lastUpdatedAfter": iso(start),
        "marketplaceIds": [market.marketplace_id],
        "maxResultsPerPage": 100,
        "includedData": INCLUDED,
    }
    while True:
        response = ctx.api.call("searchOrders", market.marketplace_id, _search(query))
        orders = response.payload.get("orders") or []
        token = response.next_token
        rows = _rows(ctx, orders, secret)
        ship_to = {str(o["orderId"]): dest for o in orders
                   if isinstance(o, dict) and (dest := destination_of(o)) is not None}
        if token:
            position = max((row["last_updated_at"] for row in rows), default=cursor.position)
        else:
            position = parse_iso(response.payload.get("lastUpdatedBefore") or iso(ctx.now()))
        cursor = _store(ctx, cursor.moved(position), rows, len(orders), ship_to)
        if not token:
            return
        query = {"paginationToken": token}


def _search(query: dict[str, Any]) -> Callable[[Any], ApiResponse]:
    return lambda client: client.search_orders(**query)


def _rows(ctx: JobContext, orders: list[dict[str, Any]], secret: bytes) -> list[Row]:
    rows = []
    for order in orders:
        try:
            rows.append(order_row(ctx.account.name, order, secret))
        except (KeyError, TypeError, ValueError, ArithmeticError) as err:
            _bad_order(ctx, order, err)
    return hashed(rows, FIELDS)


def _bad_order(ctx: JobContext, order: dict[str, Any], err: Exception) -> None:
    ident = str(order.get("orderId", "?")) if isinstance(order, dict) else "?"
    if isinstance(order, dict):
        order = {key: value for key, value in order.items() if key not in PERSONAL}
    with writing(ctx.engine) as tx:
        problem(
            tx.conn,
            tx.now,
            ctx.account.name,
            JOB,
            f"order {ident} unreadable: {type(err).__name__}: {err}",
            sample=str(order),
        )
    ctx.counted(0, errors=1)


def _store(
    ctx: JobContext, cursor: cursors.Cursor, rows: list[Row], fetched: int,
    ship_to: dict[str, tuple[str, str]],
) -> cursors.Cursor:
    with writing(ctx.engine) as tx:
        new, updated = upsert(tx.conn, amazon_orders, ("account", "order_id"), rows, tx.now)
        cursors.save(tx.conn, cursor, tx.now)
        route_new_orders(tx, ctx.account.name, rows, ship_to)
    ctx.counted(fetched, new, updated)
    return cursor


def fetch_order(ctx: JobContext, marketplace_id: str, order_id: str) -> Row | None:
    """One order by id (``getOrder``), stored and routed as the orders sync does; None if
    unknown."""
    try:
        response = ctx.api.call(
            "getOrder",
            marketplace_id,
            lambda client: client.get_order(order_id, includedData=INCLUDED),
        )
    except AmazonApiError as err:
        if err.code == "NotFound":
            return None
        raise
    order = response.payload.get("order") or {}
    rows = _rows(ctx, [order], secret_for(ctx.engine, ctx.settings))
    if rows:
        dest = destination_of(order) if isinstance(order, dict) else None
        with writing(ctx.engine) as tx:
            upsert(tx.conn, amazon_orders, ("account", "order_id"), rows, tx.now)
            # routed like the search's orders: an open MFN order not routed yet is routed now
            route_new_orders(tx, ctx.account.name, rows, {order_id: dest} if dest else {})
    return rows[0] if rows else None
