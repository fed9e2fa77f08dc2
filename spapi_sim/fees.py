"""Amazon-style charges and fees for a sale and for a refund (pure functions).

Simplified but shaped like the real thing: a 15 % referral fee (`Commission`) on the principal,
a per-unit FBA fulfilment fee, and on a refund the commission given back minus a
`RefundCommission` of 20 % of it, capped at 5 currency units (500 yen).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from spapi_sim.marketplaces import quantize
from spapi_sim.model import Charge, Order, OrderItem

COMMISSION_RATE = Decimal("0.15")
REFUND_COMMISSION_RATE = Decimal("0.20")
REFUND_COMMISSION_CAP: dict[str, Decimal] = {
    "USD": Decimal(5), "CAD": Decimal(5), "EUR": Decimal(5), "GBP": Decimal(5),
    "JPY": Decimal(500),
}
FBA_UNIT_FEE: dict[str, Decimal] = {
    "USD": Decimal("3.22"), "CAD": Decimal("4.35"), "EUR": Decimal("2.95"),
    "GBP": Decimal("2.55"), "JPY": Decimal("434"),
}
# Component types of the order adjustment feed (Amazon's XSD); each becomes the ChargeType of
# the same name in a RefundEvent and a settlement row.
COMPONENT_TYPES = frozenset({
    "Principal", "Shipping", "Tax", "ShippingTax", "RestockingFee", "RestockingFeeTax",
    "GiftWrap", "GiftWrapTax", "Surcharge", "ReturnShipping", "Goodwill", "ExportCharge", "COD",
    "CODTax", "Other",
})


def commission(principal: Decimal, currency: str) -> Decimal:
    """The referral fee on a principal amount (positive number)."""
    return quantize(principal * COMMISSION_RATE, currency)


def sale_charges(item: OrderItem) -> tuple[Charge, ...]:
    """ItemChargeList of a shipped line."""
    charges = [Charge("Principal", item.principal)]
    if item.tax:
        charges.append(Charge("Tax", item.tax))
    if item.shipping:
        charges.append(Charge("Shipping", item.shipping))
    return tuple(charges)


def sale_fees(order: Order, item: OrderItem) -> tuple[Charge, ...]:
    """ItemFeeList of a shipped line (negative: charged to the seller)."""
    fees = [Charge("Commission", -commission(item.principal, order.currency))]
    if order.fulfilled_by == "AMAZON":
        unit_fee = FBA_UNIT_FEE[order.currency]
        fees.append(Charge("FBAPerUnitFulfillmentFee", -unit_fee * item.quantity))
    return tuple(fees)


def full_refund(item: OrderItem) -> dict[str, Decimal]:
    """Feed-style components (positive) that refund a whole line."""
    components = {"Principal": item.principal, "Tax": item.tax, "Shipping": item.shipping}
    return {kind: amount for kind, amount in components.items() if amount}


def refund_charges(components: Mapping[str, Decimal]) -> tuple[Charge, ...]:
    """ItemChargeAdjustmentList from feed components: money to the buyer is negative."""
    return tuple(Charge(kind, -amount) for kind, amount in components.items())


def refund_fees(principal_refunded: Decimal, currency: str) -> tuple[Charge, ...]:
    """ItemFeeAdjustmentList: commission given back, less the refund administration fee."""
    given_back = commission(principal_refunded, currency)
    kept = min(quantize(given_back * REFUND_COMMISSION_RATE, currency),
               REFUND_COMMISSION_CAP[currency])
    return (Charge("Commission", given_back), Charge("RefundCommission", -kept))
