"""Seeded, deterministic history for one seller account (pure: settings in, values out).

Per marketplace, `orders_per_day` orders a day over `history_days` up to `anchor`; about 40 %
fulfilled by Amazon. About one shipped order in eight is returned: MFN returns older than a
week are already refunded (a RefundEvent exists), younger ones wait for the seller's refund,
which is what ACORN issues through the order adjustment feed. FBA returns are refunded by
Amazon a day after the return. Some MFN returns in marketplaces with drop-off stores were
dropped off at a store (`ReturnRequest.store_id`).

On top of that history, `open_orders` merchant-fulfilled orders per marketplace are placed in
the day before the anchor and wait unshipped, each with a delivery address in the
marketplace's country; the first has two lines, the first of two units, so that a shipment can
be confirmed in parts. They come from a random sequence of their own, so the history stays
what it was without them.

Buyers: about one order in four is placed by one of a few regular customers of the seller in
that marketplace (the same name, address and anonymised email on each of their orders), the
others by one-time buyers. About one carrier-returned MFN order in five carries an A-to-z
Guarantee claim (`ReturnRequest.a_to_z_claim`; store drop-offs carry none). Both are derived
from the order id (`ids.stable`), not drawn: the rest of the seeded data is what it was before
they existed.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from spapi_sim.accounts import SellerAccount
from spapi_sim.catalog import (
    CUSTOMER_COMMENTS,
    FBA_DISPOSITIONS,
    FBA_RETURN_REASONS,
    FULFILMENT_CENTERS,
    MFN_RETURN_REASONS,
    ORDER_ID_PREFIXES,
    PRODUCTS,
    SALES_TAX,
    SHIPPING,
    local_price,
    people,
)
from spapi_sim.fees import full_refund, refund_charges, refund_fees
from spapi_sim.ids import stable
from spapi_sim.marketplaces import Marketplace, marketplace, quantize
from spapi_sim.model import (
    AccountData,
    Buyer,
    FulfilledBy,
    Order,
    OrderItem,
    RefundEvent,
    ReturnRequest,
)
from spapi_sim.settings import SimulatorSettings

RETURN_RATE = 0.125
REGULAR_EVERY = 4  # one order in about four is placed by a regular customer
REGULARS = 3  # regular customers per seller and marketplace
A_TO_Z_EVERY = 5  # one carrier-returned MFN order in about five has an A-to-z claim
FBA_SHARE = 0.4
STORE_DROP_OFF_SHARE = 0.3
_CARRIERS: dict[str, tuple[str, ...]] = {
    "US": ("UPS", "USPS"), "CA": ("Canada Post",), "DE": ("DHL", "Hermes"), "FR": ("Colissimo",),
    "IT": ("Poste Italiane", "BRT"), "ES": ("Correos",), "UK": ("Royal Mail", "Evri"),
    "JP": ("ヤマト運輸", "日本郵便"),
}


def digits(rng: random.Random, count: int) -> str:
    """`count` random decimal digits."""
    return "".join(rng.choice("0123456789") for _ in range(count))


def generate_account(account: SellerAccount, settings: SimulatorSettings) -> AccountData:
    """All seeded orders, returns and refunds of `account`."""
    orders: list[Order] = []
    returns: list[ReturnRequest] = []
    refunds: list[RefundEvent] = []
    for marketplace_id in account.marketplace_ids:
        rng = random.Random(f"{settings.seed}:{account.seller_id}:{marketplace_id}")
        market = marketplace(marketplace_id)
        for order in _orders(rng, account.seller_id, market, settings):
            orders.append(order)
            returned = _maybe_return(rng, order, market, settings)
            if returned is not None:
                returns.append(returned)
                refunds.extend(_seeded_refund(rng, order, returned, settings.anchor))
    for marketplace_id in account.marketplace_ids:
        orders += open_orders(account.seller_id, marketplace(marketplace_id), settings)
    orders.sort(key=lambda o: (o.created, o.order_id))
    return AccountData(tuple(orders), tuple(returns), tuple(sorted(refunds, key=_posted)))


def _posted(refund: RefundEvent) -> datetime:
    return refund.posted


def _orders(rng: random.Random, seller_id: str, market: Marketplace,
            settings: SimulatorSettings) -> list[Order]:
    span = settings.history_days * 86_400
    count = settings.history_days * settings.orders_per_day
    starts = sorted(settings.history_start + timedelta(seconds=rng.randrange(span))
                    for _ in range(count))
    return [_order(rng, seller_id, market, created, settings.anchor) for created in starts]


def _order(rng: random.Random, seller_id: str, market: Marketplace, created: datetime,
           anchor: datetime) -> Order:
    fulfilled_by: FulfilledBy = "AMAZON" if rng.random() < FBA_SHARE else "MERCHANT"
    shipped: datetime | None = created + timedelta(minutes=rng.randrange(240, 2880))
    status = "SHIPPED"
    if rng.random() < 0.03:
        status, shipped = "CANCELLED", None
    elif shipped is not None and shipped > anchor:
        status, shipped = "UNSHIPPED", None
    items = tuple(_item(rng, market, fulfilled_by) for _ in range(rng.choice((1, 1, 1, 2, 3))))
    order_id = f"{rng.choice(ORDER_ID_PREFIXES[market.code])}-{digits(rng, 7)}-{digits(rng, 7)}"
    return Order(
        order_id=order_id, seller_id=seller_id, marketplace_id=market.marketplace_id,
        currency=market.currency, created=created, updated=shipped or created,
        shipped=shipped, fulfilled_by=fulfilled_by, status=status,
        is_prime=fulfilled_by == "AMAZON" or rng.random() < 0.2, items=items,
        buyer=_regular(seller_id, market, order_id, _buyer(rng, market)),
        seller_order_id=order_id,
    )


def open_orders(seller_id: str, market: Marketplace, settings: SimulatorSettings) -> list[Order]:
    """Unshipped MFN orders placed in the day before the anchor (see the module rules)."""
    rng = random.Random(f"{settings.seed}:{seller_id}:{market.marketplace_id}:open")
    found = []
    for number in range(settings.open_orders):
        created = settings.anchor - timedelta(minutes=rng.randrange(30, 1440))
        items = [_item(rng, market, "MERCHANT") for _ in range(2 if number == 0 else 1)]
        if number == 0:
            first = items[0]
            items[0] = replace(first, quantity=2, tax=quantize(
                first.unit_price * 2 * SALES_TAX.get(market.code, Decimal(0)), market.currency))
        order_id = f"{rng.choice(ORDER_ID_PREFIXES[market.code])}-{digits(rng, 7)}-{digits(rng, 7)}"
        found.append(Order(
            order_id=order_id, seller_id=seller_id, marketplace_id=market.marketplace_id,
            currency=market.currency, created=created, updated=created, shipped=None,
            fulfilled_by="MERCHANT", status="UNSHIPPED", is_prime=rng.random() < 0.2,
            items=tuple(items), buyer=_buyer(rng, market), seller_order_id=order_id))
    return found


def _item(rng: random.Random, market: Marketplace, fulfilled_by: FulfilledBy) -> OrderItem:
    product = rng.choice(PRODUCTS)
    quantity = 2 if rng.random() < 0.1 else 1
    unit_price = local_price(product, market.currency)
    tax = quantize(unit_price * quantity * SALES_TAX.get(market.code, Decimal(0)),
                   market.currency)
    with_shipping = fulfilled_by == "MERCHANT" and rng.random() < 0.5
    return OrderItem(
        order_item_id=digits(rng, 14), sku=product.sku, asin=product.asin,
        fnsku=product.fnsku, title=product.title(market.language), quantity=quantity,
        unit_price=unit_price, tax=tax,
        shipping=SHIPPING[market.currency] if with_shipping else Decimal(0),
    )


def _buyer(rng: random.Random, market: Marketplace) -> Buyer:
    name, street, city, region, postal = rng.choice(people(market))
    tld = market.name.split(".", 1)[1]
    return Buyer(name=name, email=f"{digits(rng, 12)}@marketplace.amazon.{tld}",
                 line1=street, city=city, region=region, postal_code=postal,
                 country_code=market.country_code, phone=f"+{digits(rng, 11)}")


def _regular(seller_id: str, market: Marketplace, order_id: str, drawn: Buyer) -> Buyer:
    """The regular customer who placed this order, or ``drawn`` (a one-time buyer; drawn
    either way, so that the random sequence stays what it was)."""
    if int(stable("regular", seller_id, order_id)) % REGULAR_EVERY:
        return drawn
    number = int(stable("regular-of", seller_id, order_id)) % REGULARS
    name, street, city, region, postal = people(market)[number % len(people(market))]
    tld = market.name.split(".", 1)[1]
    who = (seller_id, market.marketplace_id, number)
    return Buyer(name=name, email=f"{stable('regular-email', *who, digits=12)}"
                 f"@marketplace.amazon.{tld}", line1=street, city=city, region=region,
                 postal_code=postal, country_code=market.country_code,
                 phone=f"+{stable('regular-phone', *who, digits=11)}")


def _maybe_return(rng: random.Random, order: Order, market: Marketplace,
                  settings: SimulatorSettings) -> ReturnRequest | None:
    if order.shipped is None or rng.random() >= RETURN_RATE:
        return None
    requested = order.shipped + timedelta(days=rng.randrange(2, 25), minutes=rng.randrange(1440))
    if requested >= settings.anchor:
        return None
    item = rng.choice(order.items)
    stores = settings.stores_for(market.code)
    at_store = order.fulfilled_by == "MERCHANT" and bool(stores) and (
        rng.random() < STORE_DROP_OFF_SHARE)
    store = rng.choice(stores) if at_store else None
    carrier = f"STORE:{store}" if store else rng.choice(_CARRIERS[market.code])
    return ReturnRequest(
        order_id=order.order_id, order_item_id=item.order_item_id,
        marketplace_id=order.marketplace_id, fulfilled_by=order.fulfilled_by,
        requested=requested, quantity=item.quantity,
        reason=rng.choice(MFN_RETURN_REASONS if order.fulfilled_by == "MERCHANT"
                          else FBA_RETURN_REASONS),
        rma_id="D" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(7))
        + "RRMA",
        label_type="StoreDropOff" if store else "AmazonPrePaidLabel",
        carrier=carrier, tracking_id="" if store else "1Z" + digits(rng, 16),
        store_id=store, in_policy=rng.random() < 0.95,
        fulfillment_center=rng.choice(FULFILMENT_CENTERS[market.code]),
        disposition=rng.choice(FBA_DISPOSITIONS), license_plate="LPN" + digits(rng, 10),
        customer_comment=rng.choice(CUSTOMER_COMMENTS),
        a_to_z_claim=order.fulfilled_by == "MERCHANT" and store is None
        and not int(stable("a-to-z", order.order_id)) % A_TO_Z_EVERY,
    )


def _seeded_refund(rng: random.Random, order: Order, returned: ReturnRequest,
                   anchor: datetime) -> list[RefundEvent]:
    """The refund already issued for a return, if the return is old enough."""
    if order.fulfilled_by == "AMAZON":
        posted = returned.requested + timedelta(days=1)
    else:
        posted = returned.requested + timedelta(days=rng.randrange(2, 7))
        if returned.requested > anchor - timedelta(days=7):
            return []
    if posted >= anchor:
        return []
    item = order.item(returned.order_item_id)
    assert item is not None  # the return was drawn from this order's items
    return [refund_event(order, item, full_refund(item), posted, digits(rng, 14), "")]


def refund_event(order: Order, item: OrderItem, components: dict[str, Decimal],
                 posted: datetime, adjustment_item_id: str,
                 merchant_adjustment_item_id: str) -> RefundEvent:
    """A RefundEvent for `components` (feed-style, positive amounts) of one order line."""
    principal = components.get("Principal", Decimal(0))
    return RefundEvent(
        seller_id=order.seller_id, marketplace_id=order.marketplace_id,
        order_id=order.order_id, seller_order_id=order.seller_order_id,
        order_item_id=item.order_item_id, sku=item.sku, quantity=item.quantity, posted=posted,
        adjustment_item_id=adjustment_item_id,
        merchant_adjustment_item_id=merchant_adjustment_item_id, currency=order.currency,
        fulfilled_by=order.fulfilled_by, charges=refund_charges(components),
        fees=refund_fees(principal, order.currency),
    )
