"""Returns reports as flat files: Amazon's column sets, rendered from plain values (pure).

Both are tab-separated with one header row, `\\n` line ends; times are ISO 8601 UTC
(`2024-05-01T12:34:56+00:00`) and amounts use a decimal point with the currency's minor unit.

`GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE` (MFN): the 32 columns of Amazon's returns report.
**Store drop-off (simulator convention):** a return the customer chose to drop off at one of
the seller's own stores has `Label type` = `StoreDropOff`, `Return carrier` = `STORE:<store id>`
and an empty `Tracking ID`. Amazon has no such value; ACORN's hub keys expected store returns on
it. `Refunded Amount` is empty until money was refunded for the line, then the sum refunded,
and `Return request status` turns from `Approved` to `Closed`. `A-to-Z Claim` is `Y` for a
return whose buyer filed an A-to-z Guarantee claim, else `N`; the SafeT columns stay empty.

`GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA` (FBA): the 13 columns of the FBA customer returns
report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from spapi_sim.marketplaces import quantize
from spapi_sim.model import Order, ReturnRequest

MFN_RETURNS = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
FBA_RETURNS = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"

MFN_COLUMNS = (
    "Order ID", "Order date", "Return request date", "Return request status", "Amazon RMA ID",
    "Merchant RMA ID", "Label type", "Label cost", "Currency code", "Return carrier",
    "Tracking ID", "Label to be paid by", "A-to-Z Claim", "Is prime", "ASIN", "Merchant SKU",
    "Item Name", "Return quantity", "Return Reason", "In policy", "Return type", "Resolution",
    "Invoice number", "Return delivery date", "Order Amount", "Order quantity",
    "SafeT Action reason", "SafeT claim id", "SafeT claim state", "SafeT claim creation time",
    "SafeT claim reimbursement amount", "Refunded Amount",
)
FBA_COLUMNS = (
    "return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity",
    "fulfillment-center-id", "detailed-disposition", "reason", "status", "license-plate-number",
    "customer-comments",
)
LABEL_COST: dict[str, Decimal] = {
    "USD": Decimal("5.99"), "CAD": Decimal("8.99"), "EUR": Decimal("4.50"),
    "GBP": Decimal("3.20"), "JPY": Decimal("600"),
}
_BUYER_PAYS = frozenset({"UNWANTED_ITEM", "ORDERED_WRONG_ITEM", "BETTER_PRICE_AVAILABLE"})

Refunded = Callable[[ReturnRequest], Decimal]


def iso(moment: datetime) -> str:
    """A UTC time as the flat files write it."""
    return moment.isoformat(timespec="seconds")


def tsv(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A tab-separated document with a header row."""
    lines = ["\t".join(columns), *("\t".join(row) for row in rows)]
    return "\n".join(lines) + "\n"


def in_window(returned: ReturnRequest, start: datetime, end: datetime) -> bool:
    """True when the return was requested within [start, end]."""
    return start <= returned.requested <= end


def mfn_row(returned: ReturnRequest, order: Order, refunded: Decimal, now: datetime) -> list[str]:
    """One row of the MFN returns report."""
    item = order.item(returned.order_item_id)
    assert item is not None  # returns are drawn from their order's items
    money = order.currency
    delivered = returned.requested + timedelta(days=3)
    label_cost = Decimal(0) if returned.store_id else LABEL_COST[money]
    return [
        order.order_id, iso(order.created), iso(returned.requested),
        "Closed" if refunded else "Approved", returned.rma_id, "", returned.label_type,
        str(quantize(label_cost, money)), money, returned.carrier, returned.tracking_id,
        "Customer" if returned.reason in _BUYER_PAYS else "Seller",
        "Y" if returned.a_to_z_claim else "N",
        "Y" if order.is_prime else "N", item.asin, item.sku, item.title,
        str(returned.quantity), returned.reason, "Y" if returned.in_policy else "N",
        "C-Returns", "StandardRefund", "", iso(delivered) if delivered <= now else "",
        str(quantize(order.total, money)), str(item.quantity), "", "", "", "", "",
        str(quantize(refunded, money)) if refunded else "",
    ]


def fba_row(returned: ReturnRequest, order: Order) -> list[str]:
    """One row of the FBA customer returns report."""
    item = order.item(returned.order_item_id)
    assert item is not None  # returns are drawn from their order's items
    status = "Unit returned to inventory" if returned.disposition == "SELLABLE" else "Reimbursed"
    return [
        iso(returned.requested), order.order_id, item.sku, item.asin, item.fnsku, item.title,
        str(returned.quantity), returned.fulfillment_center, returned.disposition,
        returned.reason, status, returned.license_plate, returned.customer_comment,
    ]


def returns_report(report_type: str, returns: Iterable[tuple[ReturnRequest, Order]],
                   refunded: Refunded, now: datetime) -> str:
    """The MFN or FBA returns report over (return, order) pairs already filtered."""
    if report_type == MFN_RETURNS:
        rows = [mfn_row(r, o, refunded(r), now) for r, o in returns if r.fulfilled_by == "MERCHANT"]
        return tsv(MFN_COLUMNS, rows)
    return tsv(FBA_COLUMNS, [fba_row(r, o) for r, o in returns if r.fulfilled_by == "AMAZON"])
