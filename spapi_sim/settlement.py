"""The V2 flat-file settlement report (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`), pure.

Columns are Amazon's 23, in order. The first data row is the summary (settlement id, dates,
deposit date, total amount, currency); every other row carries the settlement id and one amount.
Amounts are in the marketplace's local format (decimal comma in DE, FR, IT, ES); settlement and
deposit dates and `posted-date-time` are `YYYY-MM-DD HH:MM:SS UTC`, `posted-date` is `MM/DD/YY`.
Sales are `Order` rows (ItemPrice: Principal, Tax, Shipping; ItemFees: Commission,
FBAPerUnitFulfillmentFee); refunds are `Refund` rows whose `adjustment-id` is the
RefundEvent's `OrderAdjustmentItemId` and whose `merchant-adjustment-item-id` is the seller's
`MerchantAdjustmentItemID` from the adjustment feed (empty for refunds the seller did not send).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from spapi_sim.fees import sale_charges, sale_fees
from spapi_sim.ids import stable
from spapi_sim.marketplaces import Marketplace, local_amount
from spapi_sim.model import Charge, Order, OrderItem, RefundEvent, Settlement
from spapi_sim.reports import tsv

COLUMNS = (
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date",
    "total-amount", "currency", "transaction-type", "order-id", "merchant-order-id",
    "adjustment-id", "shipment-id", "marketplace-name", "amount-type", "amount-description",
    "amount", "fulfillment-id", "posted-date", "posted-date-time", "order-item-code",
    "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased",
)
_FEE_TYPES = frozenset({"Commission", "RefundCommission", "FBAPerUnitFulfillmentFee"})

Line = dict[str, str]


def long_date(moment: datetime) -> str:
    """`2024-05-01 12:34:56 UTC`."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _amount_type(charge: Charge) -> str:
    return "ItemFees" if charge.kind in _FEE_TYPES else "ItemPrice"


def _posted(moment: datetime) -> Line:
    return {"posted-date": moment.strftime("%m/%d/%y"), "posted-date-time": long_date(moment)}


def sale_lines(order: Order, item: OrderItem, market: Marketplace) -> list[tuple[Line, Decimal]]:
    """The rows of one shipped order line, each with its amount."""
    assert order.shipped is not None  # only shipped orders settle
    common = {
        "transaction-type": "Order", "order-id": order.order_id,
        "merchant-order-id": order.seller_order_id, "marketplace-name": market.name,
        "shipment-id": "D" + stable("shipment", order.order_id, digits=9),
        "fulfillment-id": "AFN" if order.fulfilled_by == "AMAZON" else "MFN",
        "order-item-code": item.order_item_id, "sku": item.sku,
        "quantity-purchased": str(item.quantity), **_posted(order.shipped),
    }
    charges = (*sale_charges(item), *sale_fees(order, item))
    return [({**common, "amount-type": _amount_type(c), "amount-description": c.kind}, c.amount)
            for c in charges]


def refund_lines(refund: RefundEvent, market: Marketplace) -> list[tuple[Line, Decimal]]:
    """The rows of one refund event, each with its amount."""
    common = {
        "transaction-type": "Refund", "order-id": refund.order_id,
        "merchant-order-id": refund.seller_order_id, "adjustment-id": refund.adjustment_item_id,
        "marketplace-name": market.name,
        "fulfillment-id": "AFN" if refund.fulfilled_by == "AMAZON" else "MFN",
        "order-item-code": refund.order_item_id,
        "merchant-adjustment-item-id": refund.merchant_adjustment_item_id, "sku": refund.sku,
        **_posted(refund.posted),
    }
    return [({**common, "amount-type": _amount_type(c), "amount-description": c.kind}, c.amount)
            for c in (*refund.charges, *refund.fees)]


def settlement_report(settlement: Settlement, market: Marketplace, orders: list[Order],
                      refunds: list[RefundEvent]) -> str:
    """The settlement report of one period."""
    lines = [line for order in orders for item in order.items
             for line in sale_lines(order, item, market)]
    lines += [line for refund in refunds for line in refund_lines(refund, market)]
    lines.sort(key=lambda pair: pair[0]["posted-date-time"])
    total = sum((amount for _, amount in lines), Decimal(0))
    summary = {
        "settlement-start-date": long_date(settlement.start),
        "settlement-end-date": long_date(settlement.end),
        "deposit-date": long_date(settlement.deposit_date),
        "total-amount": local_amount(total, market), "currency": market.currency,
    }
    rows = [summary] + [{**line, "amount": local_amount(amount, market)} for line, amount in lines]
    return tsv(COLUMNS, ([settlement.settlement_id if c == "settlement-id" else row.get(c, "")
                          for c in COLUMNS] for row in rows))
