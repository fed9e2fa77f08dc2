"""Orders placed live through the control API, for tests that need a particular order (pure).

`POST /_sim/sellers/{seller_id}/orders` takes `{"marketplaceId", "items": [{"sku",
"quantity"}], "fulfilledBy"?: "MERCHANT" | "AMAZON", "purchaseDate"?, "address"?: {"name",
"addressLine1", "city", "stateOrRegion", "postalCode"}}`. Rules: the marketplace is one of the
seller's; each SKU is in the simulator's catalogue, once, with a quantity of 1..20; the
purchase date (default: now) has an offset and is not in the future; without an address the
order ships to the marketplace's first synthetic buyer; the country is always the
marketplace's. The order is unshipped, priced from the catalogue like seeded orders, and gets a
3-7-7 id with the marketplace's prefix. Bad input is `InvalidInput` (400).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from spapi_sim.catalog import ORDER_ID_PREFIXES, PRODUCTS, SALES_TAX, local_price, people
from spapi_sim.errors import InvalidInput
from spapi_sim.ids import stable
from spapi_sim.marketplaces import Marketplace, quantize
from spapi_sim.model import Buyer, FulfilledBy, Order, OrderItem

ADDRESS_FIELDS = ("name", "addressLine1", "city", "stateOrRegion", "postalCode")
_SKUS = {product.sku: product for product in PRODUCTS}


def _lines(value: Any) -> list[tuple[str, int]]:
    if not isinstance(value, list) or not value:
        raise InvalidInput("items must list at least one {sku, quantity}.")
    lines: list[tuple[str, int]] = []
    for index, line in enumerate(value):
        sku = line.get("sku") if isinstance(line, dict) else None
        quantity = line.get("quantity", 1) if isinstance(line, dict) else None
        if sku not in _SKUS:
            raise InvalidInput(f"items[{index}].sku must be one of {', '.join(sorted(_SKUS))}.")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 20:
            raise InvalidInput(f"items[{index}].quantity must be a whole number in 1..20.")
        if any(sku == seen for seen, _ in lines):
            raise InvalidInput(f"SKU {sku} is listed twice.")
        lines.append((str(sku), quantity))
    return lines


def _buyer(value: Any, market: Marketplace, key: Sequence[object]) -> Buyer:
    tld = market.name.split(".", 1)[1]
    email = f"{stable('placed-email', *key, digits=12)}@marketplace.amazon.{tld}"
    phone = f"+{stable('placed-phone', *key, digits=11)}"
    if value is None:
        name, street, city, region, postal = people(market)[0]
        return Buyer(name, email, street, city, region, postal, market.country_code, phone)
    if not isinstance(value, dict) or not all(
            isinstance(value.get(f), str) and value[f].strip() for f in ADDRESS_FIELDS):
        raise InvalidInput(f"address needs the texts {', '.join(ADDRESS_FIELDS)}.")
    return Buyer(value["name"], email, value["addressLine1"], value["city"],
                 value["stateOrRegion"], value["postalCode"], market.country_code, phone)


def _created(value: Any, now: datetime) -> datetime:
    if value is None:
        return now
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or moment > now:
        raise InvalidInput("purchaseDate must be an ISO 8601 date-time with an offset, not "
                           "in the future.")
    return moment


def _item(market: Marketplace, sku: str, quantity: int, key: Sequence[object]) -> OrderItem:
    product = _SKUS[sku]
    unit_price = local_price(product, market.currency)
    tax = quantize(unit_price * quantity * SALES_TAX.get(market.code, Decimal(0)),
                   market.currency)
    return OrderItem(order_item_id=stable("placed-item", *key, sku, digits=14), sku=sku,
                     asin=product.asin, fnsku=product.fnsku, title=product.title(market.language),
                     quantity=quantity, unit_price=unit_price, tax=tax, shipping=Decimal(0))


def place_order(body: Any, seller_id: str, market: Marketplace, number: int,
                seed: int, now: datetime) -> Order:
    """The order a control request asks for; `number` counts the orders placed so far."""
    if not isinstance(body, dict):
        raise InvalidInput("The body must be an object.")
    fulfilled_by: FulfilledBy = "AMAZON" if body.get("fulfilledBy") == "AMAZON" else "MERCHANT"
    if body.get("fulfilledBy") not in (None, "MERCHANT", "AMAZON"):
        raise InvalidInput("fulfilledBy must be MERCHANT or AMAZON.")
    key = (seed, seller_id, market.marketplace_id, number)
    prefix = ORDER_ID_PREFIXES[market.code][number % len(ORDER_ID_PREFIXES[market.code])]
    digits = stable("placed-order", *key, digits=14)
    order_id = f"{prefix}-{digits[:7]}-{digits[7:]}"
    created = _created(body.get("purchaseDate"), now)
    items = tuple(_item(market, sku, quantity, key) for sku, quantity in _lines(body.get("items")))
    return Order(order_id=order_id, seller_id=seller_id, marketplace_id=market.marketplace_id,
                 currency=market.currency, created=created, updated=created, shipped=None,
                 fulfilled_by=fulfilled_by, status="UNSHIPPED", is_prime=False, items=items,
                 buyer=_buyer(body.get("address"), market, key), seller_order_id=order_id)
