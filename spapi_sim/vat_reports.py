"""Amazon's two EU VAT reports, rendered from the simulator's orders and refunds (pure).

`GET_VAT_TRANSACTION_DATA` (Amazon VAT Transactions Report, "AVTR") and `SC_VAT_TAX_REPORT`
(Amazon VAT Calculation Report) are comma-separated with one header row, `\\n` line ends, fields
quoted only when they must be (csv's minimal quoting). Both are requested with createReport for
an EU marketplace (DE, FR, IT, ES, UK); elsewhere createReport refuses them (InvalidInput).

**Where the columns come from.** AVTR: the download headers of Seller Central's "Amazon VAT
Transactions Report Field Definitions" (help item 202098210, read through the search tool's
pages corpus, which shows the first columns); the order of the later ones was checked against
two independent public references: a VAT service's note naming the spreadsheet columns W, Z,
AD, AH, AL, AQ (TOTAL_PRICE_OF_ITEMS_AMT_VAT_EXCL ... TOTAL_ACTIVITY_VALUE_VAT_AMT) and a public
parser's fallback indexes (TRANSACTION_TYPE 5, ASIN 13, QTY 16, COST_PRICE_OF_ITEMS 19,
TOTAL_ACTIVITY_VALUE_AMT_VAT_EXCL 29, DEPARTURE_COUNTRY 62, ARRIVAL_COUNTRY 65), which agree
with the list below. VAT Calculation Report: "Amazon VAT Calculation report field definitions"
(Seller Central help item G4WG5HY2Y57L8EUP, pages corpus) for the first 23 fields, the price
component columns (`OUR_PRICE Tax Inclusive Selling Price`, ... for OUR_PRICE, SHIPPING,
GIFTWRAP) and the registration, invoice and address columns from public parsers of the report
(code corpus). The SP-API "Tax reports" page says both are comma-separated and can be requested.

**Simulator conventions.** The simulator's EU prices include VAT (as Amazon's EU ItemPrice
does); the VAT in a gross amount is `gross x rate / (1 + rate)` rounded half-up to the cent at
the marketplace's standard rate (`VAT_RATES`). A shipped order line is a `SALE` (AVTR) /
`SHIPMENT` (calculation report) row dated by its shipment; a refund event is a `REFUND` row
dated by its posting, with negative amounts. AVTR dates are `DD-MM-YYYY`, `ACTIVITY_PERIOD`
`YYYY-MON`; calculation report dates are `DD-Mon-YYYY UTC`, its `Tax Rate` a fraction (`0.19`)
and its `Marketplace ID` the country code, as in Amazon's examples.

**Availability (as Amazon's, in the simulator's wording):** an AVTR covers exactly one calendar
month (dataStartTime its first second, dataEndTime its last second or the next month's first)
and exists from the 3rd of the following month (UTC); a request for any other window, the
running month or before the 3rd ends FATAL with no document. The calculation report covers any
window of at most 31 days.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from spapi_sim.ids import stable
from spapi_sim.lifecycle import Job
from spapi_sim.marketplaces import Marketplace, quantize
from spapi_sim.model import Charge, Order, OrderItem, RefundEvent

VAT_TRANSACTIONS = "GET_VAT_TRANSACTION_DATA"
VAT_CALCULATION = "SC_VAT_TAX_REPORT"
VAT_REPORTS = frozenset({VAT_TRANSACTIONS, VAT_CALCULATION})
AVAILABLE_FROM_DAY = 3
MAX_CALCULATION_WINDOW = timedelta(days=31)
VAT_RATES: dict[str, Decimal] = {
    "DE": Decimal("0.19"),
    "FR": Decimal("0.20"),
    "IT": Decimal("0.22"),
    "ES": Decimal("0.21"),
    "UK": Decimal("0.20"),
}
_SHIPPING = frozenset({"Shipping", "ShippingTax", "ReturnShipping"})
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

AVTR_COLUMNS = (
    "UNIQUE_ACCOUNT_IDENTIFIER",
    "ACTIVITY_PERIOD",
    "SALES_CHANNEL",
    "MARKETPLACE",
    "PROGRAM_TYPE",
    "TRANSACTION_TYPE",
    "TRANSACTION_EVENT_ID",
    "ACTIVITY_TRANSACTION_ID",
    "TAX_CALCULATION_DATE",
    "TRANSACTION_DEPART_DATE",
    "TRANSACTION_ARRIVAL_DATE",
    "TRANSACTION_COMPLETE_DATE",
    "SELLER_SKU",
    "ASIN",
    "ITEM_DESCRIPTION",
    "ITEM_MANUFACTURE_COUNTRY",
    "QTY",
    "ITEM_WEIGHT",
    "TOTAL_ACTIVITY_WEIGHT",
    "COST_PRICE_OF_ITEMS",
    "PRICE_OF_ITEMS_AMT_VAT_EXCL",
    "PROMO_PRICE_OF_ITEMS_AMT_VAT_EXCL",
    "TOTAL_PRICE_OF_ITEMS_AMT_VAT_EXCL",
    "SHIP_CHARGE_AMT_VAT_EXCL",
    "PROMO_SHIP_CHARGE_AMT_VAT_EXCL",
    "TOTAL_SHIP_CHARGE_AMT_VAT_EXCL",
    "GIFT_WRAP_AMT_VAT_EXCL",
    "PROMO_GIFT_WRAP_AMT_VAT_EXCL",
    "TOTAL_GIFT_WRAP_AMT_VAT_EXCL",
    "TOTAL_ACTIVITY_VALUE_AMT_VAT_EXCL",
    "PRICE_OF_ITEMS_VAT_RATE_PERCENT",
    "PRICE_OF_ITEMS_VAT_AMT",
    "PROMO_PRICE_OF_ITEMS_VAT_AMT",
    "TOTAL_PRICE_OF_ITEMS_VAT_AMT",
    "SHIP_CHARGE_VAT_RATE_PERCENT",
    "SHIP_CHARGE_VAT_AMT",
    "PROMO_SHIP_CHARGE_VAT_AMT",
    "TOTAL_SHIP_CHARGE_VAT_AMT",
    "GIFT_WRAP_VAT_RATE_PERCENT",
    "GIFT_WRAP_VAT_AMT",
    "PROMO_GIFT_WRAP_VAT_AMT",
    "TOTAL_GIFT_WRAP_VAT_AMT",
    "TOTAL_ACTIVITY_VALUE_VAT_AMT",
    "PRICE_OF_ITEMS_AMT_VAT_INCL",
    "PROMO_PRICE_OF_ITEMS_AMT_VAT_INCL",
    "TOTAL_PRICE_OF_ITEMS_AMT_VAT_INCL",
    "SHIP_CHARGE_AMT_VAT_INCL",
    "PROMO_SHIP_CHARGE_AMT_VAT_INCL",
    "TOTAL_SHIP_CHARGE_AMT_VAT_INCL",
    "GIFT_WRAP_AMT_VAT_INCL",
    "PROMO_GIFT_WRAP_AMT_VAT_INCL",
    "TOTAL_GIFT_WRAP_AMT_VAT_INCL",
    "TOTAL_ACTIVITY_VALUE_AMT_VAT_INCL",
    "TRANSACTION_CURRENCY_CODE",
    "COMMODITY_CODE",
    "STATISTICAL_CODE_DEPART",
    "STATISTICAL_CODE_ARRIVAL",
    "COMMODITY_CODE_SUPPLEMENTARY_UNIT",
    "ITEM_QTY_SUPPLEMENTARY_UNIT",
    "TOTAL_ACTIVITY_SUPPLEMENTARY_UNIT",
    "PRODUCT_TAX_CODE",
    "DEPATURE_CITY",
    "DEPARTURE_COUNTRY",
    "DEPARTURE_POST_CODE",
    "ARRIVAL_CITY",
    "ARRIVAL_COUNTRY",
    "ARRIVAL_POST_CODE",
    "SALE_DEPART_COUNTRY",
    "SALE_ARRIVAL_COUNTRY",
    "TRANSPORTATION_MODE",
    "DELIVERY_CONDITIONS",
    "SELLER_DEPART_VAT_NUMBER_COUNTRY",
    "SELLER_DEPART_COUNTRY_VAT_NUMBER",
    "SELLER_ARRIVAL_VAT_NUMBER_COUNTRY",
    "SELLER_ARRIVAL_COUNTRY_VAT_NUMBER",
    "TRANSACTION_SELLER_VAT_NUMBER_COUNTRY",
    "TRANSACTION_SELLER_VAT_NUMBER",
    "BUYER_VAT_NUMBER_COUNTRY",
    "BUYER_VAT_NUMBER",
    "VAT_CALCULATION_IMPUTATION_COUNTRY",
    "TAXABLE_JURISDICTION",
    "TAXABLE_JURISDICTION_LEVEL",
    "VAT_INV_NUMBER",
    "VAT_INV_CONVERTED_AMT",
    "VAT_INV_CURRENCY_CODE",
    "VAT_INV_EXCHANGE_RATE",
    "VAT_INV_EXCHANGE_RATE_DATE",
    "EXPORT_OUTSIDE_EU",
    "INVOICE_URL",
    "BUYER_NAME",
    "ARRIVAL_ADDRESS",
    "SUPPLIER_NAME",
    "SUPPLIER_VAT_NUMBER",
    "TAX_REPORTING_SCHEME",
    "TAX_COLLECTION_RESPONSIBILITY",
)
CALCULATION_COLUMNS = (
    "Marketplace ID",
    "Merchant ID",
    "Order Date",
    "Transaction Type",
    "Is Invoice Corrected",
    "Order ID",
    "Shipment Date",
    "Shipment ID",
    "Transaction ID",
    "ASIN",
    "SKU",
    "Quantity",
    "Tax Calculation Date",
    "Tax Rate",
    "Product Tax Code",
    "Currency",
    "Tax Type",
    "Tax Calculation Reason Code",
    "Tax Reporting Scheme",
    "Tax Collection Responsibility",
    "Tax Address Role",
    "Jurisdiction Level",
    "Jurisdiction Name",
    "OUR_PRICE Tax Inclusive Selling Price",
    "OUR_PRICE Tax Amount",
    "OUR_PRICE Tax Exclusive Selling Price",
    "OUR_PRICE Tax Inclusive Promo Amount",
    "OUR_PRICE Tax Amount Promo",
    "OUR_PRICE Tax Exclusive Promo Amount",
    "SHIPPING Tax Inclusive Selling Price",
    "SHIPPING Tax Amount",
    "SHIPPING Tax Exclusive Selling Price",
    "SHIPPING Tax Inclusive Promo Amount",
    "SHIPPING Tax Amount Promo",
    "SHIPPING Tax Exclusive Promo Amount",
    "GIFTWRAP Tax Inclusive Selling Price",
    "GIFTWRAP Tax Amount",
    "GIFTWRAP Tax Exclusive Selling Price",
    "GIFTWRAP Tax Inclusive Promo Amount",
    "GIFTWRAP Tax Amount Promo",
    "GIFTWRAP Tax Exclusive Promo Amount",
    "Seller Tax Registration",
    "Seller Tax Registration Jurisdiction",
    "Buyer Tax Registration",
    "Buyer Tax Registration Jurisdiction",
    "Buyer Tax Registration Type",
    "VAT Invoice Number",
    "Invoice Url",
    "Export Outside EU",
    "Ship From City",
    "Ship From State",
    "Ship From Country",
    "Ship From Postal Code",
    "Ship To City",
    "Ship To State",
    "Ship To Country",
    "Ship To Postal Code",
    "Is Amazon Invoiced",
)


@dataclass(frozen=True, slots=True)
class Split:
    """A gross (VAT-inclusive) amount with its VAT and net parts."""

    gross: Decimal
    vat: Decimal
    net: Decimal


@dataclass(frozen=True, slots=True)
class VatLine:
    """One row's money and identity, shared by both report renderings."""

    kind: str  # SALE | REFUND
    order: Order
    item: OrderItem
    event_id: str  # shipment id of a sale, adjustment item id of a refund
    at: datetime
    items: Split
    shipping: Split
    rate: Decimal


def split(gross: Decimal, rate: Decimal, currency: str) -> Split:
    """The VAT inside a VAT-inclusive amount, rounded half-up to the currency's minor unit."""
    gross = quantize(gross, currency)
    vat = quantize(gross * rate / (1 + rate), currency)
    return Split(gross, vat, gross - vat)


def month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """The first moment of `moment`'s month and of the next month (UTC)."""
    start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


def avtr_available(start: datetime, end: datetime, now: datetime) -> bool:
    """True when [start, end] is one whole month whose AVTR Amazon would have by `now`."""
    first, following = month_bounds(start)
    whole = start == first and following - timedelta(seconds=1) <= end <= following
    return whole and now >= following.replace(day=AVAILABLE_FROM_DAY)


def sale_lines(order: Order, market: Marketplace, rate: Decimal) -> list[VatLine]:
    """The SALE lines of one shipped order."""
    assert order.shipped is not None  # only shipped orders are sales
    shipment = stable("shipment", order.order_id, digits=9)
    money = order.currency
    return [
        VatLine(
            "SALE",
            order,
            item,
            shipment,
            order.shipped,
            split(item.principal + item.tax, rate, money),
            split(item.shipping, rate, money),
            rate,
        )
        for item in order.items
    ]


def refund_line(refund: RefundEvent, order: Order, rate: Decimal) -> VatLine | None:
    """The REFUND line of one refund event (negative amounts); None if its item is gone."""
    item = order.item(refund.order_item_id)
    if item is None:
        return None
    money = refund.currency
    return VatLine(
        "REFUND",
        order,
        item,
        refund.adjustment_item_id,
        refund.posted,
        split(_sum(c for c in refund.charges if c.kind not in _SHIPPING), rate, money),
        split(_sum(c for c in refund.charges if c.kind in _SHIPPING), rate, money),
        rate,
    )


def _sum(charges: Iterable[Charge]) -> Decimal:
    return sum((c.amount for c in charges), Decimal(0))


def _money(amount: Decimal) -> str:
    return format(amount, "f")


def _percent(rate: Decimal) -> str:
    return format((rate * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f")


def _day(moment: datetime) -> str:
    return moment.strftime("%d-%m-%Y")


def _calc_day(moment: datetime) -> str:
    return f"{moment.day:02d}-{_MONTHS[moment.month - 1].title()}-{moment.year} UTC"


def avtr_row(line: VatLine, seller_id: str, market: Marketplace) -> dict[str, str]:
    """One AVTR row by column name (columns left out stay empty)."""
    order, item, items, ship = line.order, line.item, line.items, line.shipping
    sign = 1 if line.kind == "SALE" else -1
    country = market.country_code
    return {
        "UNIQUE_ACCOUNT_IDENTIFIER": seller_id,
        "ACTIVITY_PERIOD": f"{line.at.year}-{_MONTHS[line.at.month - 1]}",
        "SALES_CHANNEL": "AFN" if order.fulfilled_by == "AMAZON" else "MFN",
        "MARKETPLACE": market.name,
        "PROGRAM_TYPE": "REGULAR",
        "TRANSACTION_TYPE": line.kind,
        "TRANSACTION_EVENT_ID": order.order_id,
        "ACTIVITY_TRANSACTION_ID": line.event_id,
        "TAX_CALCULATION_DATE": _day(line.at),
        "TRANSACTION_DEPART_DATE": _day(line.at),
        "TRANSACTION_ARRIVAL_DATE": _day(line.at),
        "TRANSACTION_COMPLETE_DATE": _day(line.at),
        "SELLER_SKU": item.sku,
        "ASIN": item.asin,
        "ITEM_DESCRIPTION": item.title,
        "QTY": str(sign * item.quantity),
        "PRICE_OF_ITEMS_AMT_VAT_EXCL": _money(items.net),
        "TOTAL_PRICE_OF_ITEMS_AMT_VAT_EXCL": _money(items.net),
        "SHIP_CHARGE_AMT_VAT_EXCL": _money(ship.net),
        "TOTAL_SHIP_CHARGE_AMT_VAT_EXCL": _money(ship.net),
        "TOTAL_ACTIVITY_VALUE_AMT_VAT_EXCL": _money(items.net + ship.net),
        "PRICE_OF_ITEMS_VAT_RATE_PERCENT": _percent(line.rate),
        "PRICE_OF_ITEMS_VAT_AMT": _money(items.vat),
        "TOTAL_PRICE_OF_ITEMS_VAT_AMT": _money(items.vat),
        "SHIP_CHARGE_VAT_RATE_PERCENT": _percent(line.rate),
        "SHIP_CHARGE_VAT_AMT": _money(ship.vat),
        "TOTAL_SHIP_CHARGE_VAT_AMT": _money(ship.vat),
        "TOTAL_ACTIVITY_VALUE_VAT_AMT": _money(items.vat + ship.vat),
        "PRICE_OF_ITEMS_AMT_VAT_INCL": _money(items.gross),
        "TOTAL_PRICE_OF_ITEMS_AMT_VAT_INCL": _money(items.gross),
        "SHIP_CHARGE_AMT_VAT_INCL": _money(ship.gross),
        "TOTAL_SHIP_CHARGE_AMT_VAT_INCL": _money(ship.gross),
        "TOTAL_ACTIVITY_VALUE_AMT_VAT_INCL": _money(items.gross + ship.gross),
        "TRANSACTION_CURRENCY_CODE": order.currency,
        "PRODUCT_TAX_CODE": "A_GEN_STANDARD",
        "DEPARTURE_COUNTRY": country,
        "ARRIVAL_COUNTRY": country,
        "SALE_DEPART_COUNTRY": country,
        "SALE_ARRIVAL_COUNTRY": country,
        "SELLER_DEPART_VAT_NUMBER_COUNTRY": country,
        "SELLER_DEPART_COUNTRY_VAT_NUMBER": vat_number(seller_id, country),
        "TRANSACTION_SELLER_VAT_NUMBER_COUNTRY": country,
        "TRANSACTION_SELLER_VAT_NUMBER": vat_number(seller_id, country),
        "VAT_CALCULATION_IMPUTATION_COUNTRY": country,
        "TAXABLE_JURISDICTION": country,
        "TAXABLE_JURISDICTION_LEVEL": "country",
        "VAT_INV_NUMBER": invoice_number(line, country),
        "EXPORT_OUTSIDE_EU": "false",
        "TAX_REPORTING_SCHEME": "REGULAR",
        "TAX_COLLECTION_RESPONSIBILITY": "SELLER",
    }


def calculation_row(line: VatLine, seller_id: str, market: Marketplace) -> dict[str, str]:
    """One VAT Calculation Report row by column name."""
    order, item, items, ship = line.order, line.item, line.items, line.shipping
    shipped = order.shipped or line.at
    country = market.country_code
    return {
        "Marketplace ID": country,
        "Merchant ID": seller_id,
        "Order Date": _calc_day(order.created),
        "Transaction Type": "SHIPMENT" if line.kind == "SALE" else "REFUND",
        "Is Invoice Corrected": "FALSE",
        "Order ID": order.order_id,
        "Shipment Date": _calc_day(shipped),
        "Shipment ID": stable("shipment", order.order_id, digits=9),
        "Transaction ID": line.event_id,
        "ASIN": item.asin,
        "SKU": item.sku,
        "Quantity": str(item.quantity),
        "Tax Calculation Date": _calc_day(line.at),
        "Tax Rate": format(line.rate, "f"),
        "Product Tax Code": "A_GEN_STANDARD",
        "Currency": order.currency,
        "Tax Type": "VAT",
        "Tax Calculation Reason Code": "Taxable",
        "Tax Collection Responsibility": "Seller",
        "Tax Address Role": "ShipTo",
        "Jurisdiction Level": "Country",
        "Jurisdiction Name": country,
        "OUR_PRICE Tax Inclusive Selling Price": _money(items.gross),
        "OUR_PRICE Tax Amount": _money(items.vat),
        "OUR_PRICE Tax Exclusive Selling Price": _money(items.net),
        "SHIPPING Tax Inclusive Selling Price": _money(ship.gross),
        "SHIPPING Tax Amount": _money(ship.vat),
        "SHIPPING Tax Exclusive Selling Price": _money(ship.net),
        "Seller Tax Registration": vat_number(seller_id, country),
        "Seller Tax Registration Jurisdiction": country,
        "VAT Invoice Number": invoice_number(line, country),
        "Export Outside EU": "false",
        "Ship From Country": country,
        "Ship To Country": country,
        "Is Amazon Invoiced": "true",
    }


def vat_number(seller_id: str, country: str) -> str:
    """The seller's (made-up) VAT registration in a country."""
    prefix = "GB" if country == "GB" else country
    return prefix + stable("vat-number", seller_id, country, digits=9)


def invoice_number(line: VatLine, country: str) -> str:
    """The (made-up) invoice or credit note number of a line."""
    series = "INV" if line.kind == "SALE" else "CN"
    return f"{country}-{series}-{stable('invoice', line.order.order_id, line.event_id, digits=8)}"


def write_csv(columns: Sequence[str], rows: Iterable[dict[str, str]]) -> str:
    """A comma-separated document with a header row, fields quoted only where needed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([row.get(c, "") for c in columns] for row in rows)
    return out.getvalue()


def vat_report(
    report_type: str, lines: Sequence[VatLine], seller_id: str, market: Marketplace
) -> str:
    """The AVTR or the calculation report over lines already filtered, oldest first."""
    ordered = sorted(lines, key=lambda v: (v.at, v.order.order_id, v.item.order_item_id, v.kind))
    if report_type == VAT_TRANSACTIONS:
        return write_csv(AVTR_COLUMNS, (avtr_row(v, seller_id, market) for v in ordered))
    return write_csv(CALCULATION_COLUMNS, (calculation_row(v, seller_id, market) for v in ordered))


def window_lines(
    orders: Iterable[Order],
    refunds: Iterable[RefundEvent],
    market: Marketplace,
    start: datetime,
    end: datetime,
) -> list[VatLine]:
    """Sales shipped and refunds posted in [start, end) in one marketplace."""
    rate = VAT_RATES[market.code]
    mine = {o.order_id: o for o in orders if o.marketplace_id == market.marketplace_id}
    lines = [
        line
        for o in mine.values()
        if o.shipped is not None and start <= o.shipped < end
        for line in sale_lines(o, market, rate)
    ]
    for refund in refunds:
        order = mine.get(refund.order_id)
        if order is not None and start <= refund.posted < end:
            line = refund_line(refund, order, rate)
            lines += [line] if line else []
    return lines


def vat_available(job: Job) -> bool:
    """Whether a finished VAT report job gets a document (else it ends FATAL)."""
    assert job.data_start is not None and job.data_end is not None and job.finished is not None
    if job.job_type == VAT_TRANSACTIONS:
        return avtr_available(job.data_start, job.data_end, job.finished)
    return job.data_end - job.data_start <= MAX_CALCULATION_WINDOW


def report_end(job: Job) -> datetime:
    """Where a VAT report's rows stop (exclusive): the AVTR's month end, else dataEndTime."""
    assert job.data_start is not None and job.data_end is not None
    if job.job_type == VAT_TRANSACTIONS:
        return month_bounds(job.data_start)[1]
    return job.data_end
