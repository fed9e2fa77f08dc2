"""Orders 2026-01-01 JSON for an `Order`, shaped by `includedData` (pure).

Without `includedData` an order carries its identity, times, programs, sales channel and items
with their product; each dataset adds its part: BUYER (buyer name; the anonymised buyer email
only for merchant-fulfilled orders, as Amazon documents), RECIPIENT (delivery address),
PROCEEDS (order and item proceeds), FULFILLMENT (order and item fulfilment, with the ship-by and
deliver-by windows of orders not cancelled), PACKAGES (MFN packages: those confirmed through
`confirmShipment`, else one for a seeded shipped order), CANCELLATION (item cancellation of
cancelled orders). EXPENSE, PROMOTION, TAX, PAYMENT and FULFILLMENT_ORDERS are accepted and add
nothing: the seeded orders have none.
Money is `{"amount": "<decimal string>", "currencyCode"}`, as the model declares.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from spapi_sim.ids import stable
from spapi_sim.marketplaces import marketplace, quantize
from spapi_sim.model import Order, OrderItem, Package

INCLUDED_DATA = frozenset({
    "BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT",
    "PACKAGES", "TAX", "PAYMENT", "FULFILLMENT_ORDERS",
})
Json = dict[str, Any]


def iso_z(moment: datetime) -> str:
    """`2024-12-24T14:20:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: Decimal, currency: str) -> Json:
    """An Orders API Money object."""
    return {"amount": str(quantize(amount, currency)), "currencyCode": currency}


def order_json(order: Order, included: Set[str]) -> Json:
    """The Order object."""
    market = marketplace(order.marketplace_id)
    body: Json = {
        "orderId": order.order_id,
        "orderAliases": [{"aliasId": order.seller_order_id, "aliasType": "SELLER_ORDER_ID"}],
        "createdTime": iso_z(order.created), "lastUpdatedTime": iso_z(order.updated),
        "programs": ["PRIME"] if order.is_prime else [],
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": market.marketplace_id,
                         "marketplaceName": market.name},
    }
    if "BUYER" in included:
        body["buyer"] = {"buyerName": order.buyer.name}
        if order.fulfilled_by == "MERCHANT":
            body["buyer"]["buyerEmail"] = order.buyer.email
    if "RECIPIENT" in included:
        body["recipient"] = {"deliveryAddress": _address(order)}
    if "PROCEEDS" in included:
        body["proceeds"] = _order_proceeds(order)
    if "FULFILLMENT" in included:
        body["fulfillment"] = _order_fulfillment(order)
    body["orderItems"] = [item_json(order, item, included) for item in order.items]
    if "PACKAGES" in included and order.packages:
        body["packages"] = [_confirmed_package(p) for p in order.packages]
    elif "PACKAGES" in included and order.fulfilled_by == "MERCHANT" and order.shipped:
        body["packages"] = [_package(order, order.shipped)]
    return body


def _address(order: Order) -> Json:
    buyer = order.buyer
    return {"name": buyer.name, "addressLine1": buyer.line1, "city": buyer.city,
            "stateOrRegion": buyer.region, "postalCode": buyer.postal_code,
            "countryCode": buyer.country_code, "phone": buyer.phone,
            "addressType": "RESIDENTIAL"}


def _breakdowns(parts: list[tuple[str, Decimal]], currency: str) -> list[Json]:
    return [{"type": kind, "subtotal": money(amount, currency)} for kind, amount in parts if amount]


def _order_proceeds(order: Order) -> Json:
    parts = [("ITEM", sum((i.principal for i in order.items), Decimal(0))),
             ("SHIPPING", sum((i.shipping for i in order.items), Decimal(0))),
             ("TAX", sum((i.tax for i in order.items), Decimal(0)))]
    return {"grandTotal": money(order.total, order.currency),
            "breakdowns": _breakdowns(parts, order.currency)}


def _order_fulfillment(order: Order) -> Json:
    body: Json = {"fulfillmentStatus": order.status, "fulfilledBy": order.fulfilled_by,
                  "fulfillmentServiceLevel": "STANDARD"}
    if order.status != "CANCELLED":
        body["shipByWindow"] = {"earliestDateTime": iso_z(order.created),
                                "latestDateTime": iso_z(order.created + timedelta(days=2))}
        body["deliverByWindow"] = {"earliestDateTime": iso_z(order.created + timedelta(days=3)),
                                   "latestDateTime": iso_z(order.deliver_by)}
    return body


def item_json(order: Order, item: OrderItem, included: Set[str]) -> Json:
    """An OrderItem object."""
    body: Json = {
        "orderItemId": item.order_item_id, "quantityOrdered": item.quantity,
        "product": {"asin": item.asin, "title": item.title, "sellerSku": item.sku,
                    "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                    "price": {"unitPrice": money(item.unit_price, order.currency)}},
    }
    if "PROCEEDS" in included:
        parts = [("ITEM", item.principal), ("SHIPPING", item.shipping), ("TAX", item.tax)]
        body["proceeds"] = {"proceedsTotal": money(item.paid, order.currency),
                            "breakdowns": _breakdowns(parts, order.currency)}
    if "FULFILLMENT" in included:
        shipped = fulfilled(order, item)
        body["fulfillment"] = {"quantityFulfilled": shipped,
                               "quantityUnfulfilled": item.quantity - shipped}
    if "CANCELLATION" in included and order.status == "CANCELLED":
        body["cancellation"] = {"cancellationExecution": {"cancelledBy": "BUYER",
                                                          "cancelReason": "BUYER_CANCELED"}}
    return body


def fulfilled(order: Order, item: OrderItem) -> int:
    """Units of a line shipped: confirmed packages, or all of a seeded shipped order."""
    if order.packages:
        return sum(p.quantity(item.order_item_id) for p in order.packages)
    return item.quantity if order.status == "SHIPPED" else 0


def _confirmed_package(package: Package) -> Json:
    body: Json = {
        "packageReferenceId": package.reference_id, "createdTime": iso_z(package.created),
        "packageStatus": {"status": "SHIPPED"},
        "carrier": package.carrier_name or package.carrier_code,
        "shipTime": iso_z(package.ship_date), "trackingNumber": package.tracking_number,
        "packageItems": [{"orderItemId": item_id, "quantity": quantity}
                         for item_id, quantity in package.items],
    }
    if package.shipping_method:
        body["shippingService"] = package.shipping_method
    return body


def _package(order: Order, shipped: datetime) -> Json:
    return {
        "packageReferenceId": "PKG-" + stable("package", order.order_id, digits=10),
        "createdTime": iso_z(shipped), "packageStatus": {"status": "DELIVERED"},
        "carrier": "UPS" if order.currency == "USD" else "DHL", "shipTime": iso_z(shipped),
        "shippingService": "Standard", "trackingNumber": "1Z" + stable("track", order.order_id,
                                                                        digits=16),
        "packageItems": [{"orderItemId": i.order_item_id, "quantity": i.quantity}
                         for i in order.items],
    }
