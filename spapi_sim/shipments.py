"""Orders v0 `confirmShipment`: reading the request and applying a package to an order (pure).

Rules (the `ordersV0` model's `ConfirmShipmentRequest`, and what Amazon documents around it):

* The body needs `marketplaceId` (the order's marketplace) and `packageDetail` with
  `packageReferenceId` (a positive number, as text), `carrierCode`, `trackingNumber`,
  `shipDate` (ISO 8601 date-time with an offset, not before the order was placed, at most a day
  ahead) and `orderItems` (each `orderItemId` of this order once, `quantity` >= 1).
  `carrierName` is required when `carrierCode` is "Other"; `shippingMethod` and
  `shipFromSupplySourceId` (one of the seller's supply sources that is not archived) are
  optional; `codCollectionMethod` is "DirectPayment" and only for Amazon.co.jp. Other fields
  are ignored.
* Only merchant-fulfilled orders that are not cancelled can be confirmed.
* One call per package. The same `packageReferenceId` again replaces (edits) that package.
* An order line can never be shipped beyond its ordered quantity, over all its packages. Seeded
  orders shipped before the simulator started count as entirely shipped.
* The order is `SHIPPED` when every unit of every line is in a package, `PARTIALLY_SHIPPED`
  when some are; its `updated` time is the confirmation time, its `shipped` time the latest
  ship date once it is entirely shipped.

Every refusal is `InvalidInput` (400) with a message saying what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from spapi_sim.errors import InvalidInput
from spapi_sim.model import Order, Package

JAPAN = "A1VC38T7YXB528"
FUTURE_SLACK = timedelta(days=1)
_POSITIVE = re.compile(r"^[0-9]+$")


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A read `ConfirmShipmentRequest`, not yet checked against an order."""

    marketplace_id: str
    reference_id: str
    carrier_code: str
    carrier_name: str | None
    shipping_method: str | None
    tracking_number: str
    ship_date: datetime
    items: tuple[tuple[str, int], ...]
    supply_source_id: str | None
    cod_collection_method: str | None


def _text(body: dict[str, Any], name: str, where: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{where}{name} is required and must be a non-empty string.")
    return value


def _required(body: dict[str, Any], name: str, where: str) -> str:
    value = _text(body, name, where)
    assert value is not None  # required
    return value


def _ship_date(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput("packageDetail.shipDate must be an ISO 8601 date-time with an offset "
                           f"(such as 2026-03-01T10:00:00Z), not {value!r}.")
    return moment


def _items(value: Any) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, list) or not value:
        raise InvalidInput("packageDetail.orderItems must list at least one order item.")
    found: list[tuple[str, int]] = []
    for index, item in enumerate(value):
        where = f"packageDetail.orderItems[{index}]."
        if not isinstance(item, dict):
            raise InvalidInput(f"{where[:-1]} must be an object.")
        item_id = _required(item, "orderItemId", where)
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidInput(f"{where}quantity must be a whole number of at least 1.")
        if any(item_id == seen for seen, _ in found):
            raise InvalidInput(f"Order item {item_id} is listed twice in one package.")
        found.append((item_id, quantity))
    return tuple(found)


def read_request(body: Any) -> Confirmation:
    """The request body read per the model; InvalidInput when it does not follow it."""
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a ConfirmShipmentRequest object.")
    detail = body.get("packageDetail")
    if not isinstance(detail, dict):
        raise InvalidInput("packageDetail is required and must be an object.")
    where = "packageDetail."
    reference = _required(detail, "packageReferenceId", where)
    if not _POSITIVE.match(reference) or int(reference) < 1:
        raise InvalidInput("packageDetail.packageReferenceId must be a positive number.")
    carrier_code = _required(detail, "carrierCode", where)
    carrier_name = _text(detail, "carrierName", where, required=carrier_code == "Other")
    cod = body.get("codCollectionMethod")
    if cod is not None and cod != "DirectPayment":
        raise InvalidInput("codCollectionMethod must be DirectPayment.")
    return Confirmation(
        marketplace_id=_required(body, "marketplaceId", ""), reference_id=reference,
        carrier_code=carrier_code, carrier_name=carrier_name,
        shipping_method=_text(detail, "shippingMethod", where, required=False),
        tracking_number=_required(detail, "trackingNumber", where),
        ship_date=_ship_date(_required(detail, "shipDate", where)),
        items=_items(detail.get("orderItems")),
        supply_source_id=_text(detail, "shipFromSupplySourceId", where, required=False),
        cod_collection_method=cod)


def shipped_elsewhere(order: Order, order_item_id: str, reference_id: str) -> int:
    """Units of a line already in packages other than `reference_id`."""
    if order.status == "SHIPPED" and not order.packages:
        item = order.item(order_item_id)
        return item.quantity if item else 0  # shipped before the simulator started
    return sum(p.quantity(order_item_id) for p in order.packages
               if p.reference_id != reference_id)


def _check_order(order: Order, request: Confirmation, supply_sources: Set[str],
                 now: datetime) -> None:
    if order.fulfilled_by != "MERCHANT":
        raise InvalidInput(f"Order {order.order_id} is fulfilled by Amazon; only "
                           "merchant-fulfilled orders can be confirmed.")
    if order.status == "CANCELLED":
        raise InvalidInput(f"Order {order.order_id} is cancelled.")
    if request.marketplace_id != order.marketplace_id:
        raise InvalidInput(f"marketplaceId {request.marketplace_id} is not the marketplace of "
                           f"order {order.order_id}.")
    if request.cod_collection_method and order.marketplace_id != JAPAN:
        raise InvalidInput("codCollectionMethod is only supported in the JP marketplace.")
    if request.supply_source_id is not None and request.supply_source_id not in supply_sources:
        raise InvalidInput(f"shipFromSupplySourceId {request.supply_source_id} is not a supply "
                           "source of this seller.")
    if request.ship_date < order.created or request.ship_date > now + FUTURE_SLACK:
        raise InvalidInput("packageDetail.shipDate must lie between the order date and now.")
    for item_id, quantity in request.items:
        item = order.item(item_id)
        if item is None:
            raise InvalidInput(f"Order item {item_id} is not part of order {order.order_id}.")
        already = shipped_elsewhere(order, item_id, request.reference_id)
        if already + quantity > item.quantity:
            raise InvalidInput(f"Quantity {quantity} of order item {item_id} exceeds what is "
                               f"left to ship ({item.quantity - already} of {item.quantity}).")


def status_of(order: Order) -> str:
    """SHIPPED, PARTIALLY_SHIPPED or UNSHIPPED, from the order's packages."""
    shipped = [sum(p.quantity(i.order_item_id) for p in order.packages) for i in order.items]
    if all(s >= i.quantity for s, i in zip(shipped, order.items, strict=True)):
        return "SHIPPED"
    return "PARTIALLY_SHIPPED" if any(shipped) else "UNSHIPPED"


def confirm(order: Order, request: Confirmation, supply_sources: Set[str],
            now: datetime) -> Order:
    """The order with the package added (or edited); InvalidInput when it cannot be."""
    _check_order(order, request, supply_sources, now)
    previous = next((p for p in order.packages if p.reference_id == request.reference_id), None)
    package = Package(
        reference_id=request.reference_id, carrier_code=request.carrier_code,
        carrier_name=request.carrier_name, shipping_method=request.shipping_method,
        tracking_number=request.tracking_number, ship_date=request.ship_date,
        items=request.items, supply_source_id=request.supply_source_id,
        created=previous.created if previous else now, updated=now)
    others = tuple(p for p in order.packages if p.reference_id != request.reference_id)
    packages = tuple(sorted((*others, package), key=lambda p: int(p.reference_id)))
    changed = replace(order, packages=packages, updated=now)
    status = status_of(changed)
    shipped = max(p.ship_date for p in packages) if status == "SHIPPED" else None
    return replace(changed, status=status, shipped=shipped)
