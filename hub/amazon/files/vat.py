"""Amazon's EU VAT reports, parsed by header name into typed lines (pure).

The two formats (column sources: ``spapi_sim.vat_reports``' docstring — Seller Central's field
definitions of each report, read through the search tool, order cross-checked against public
parsers):

- ``GET_VAT_TRANSACTION_DATA`` (Amazon VAT Transactions Report): one row per activity (SALE,
  REFUND, RETURN, FC_TRANSFER, INBOUND, ...); amounts are the ``TOTAL_ACTIVITY_VALUE_*`` columns,
  negative on refunds; the order id is ``TRANSACTION_EVENT_ID``; dates ``DD-MM-YYYY``; the rate
  ``PRICE_OF_ITEMS_VAT_RATE_PERCENT`` is a percentage (``19.00``);
- ``SC_VAT_TAX_REPORT`` (VAT Calculation Report): one row per SHIPMENT, RETURN or REFUND line;
  amounts are the sums of the ``OUR_PRICE``, ``SHIPPING`` and ``GIFTWRAP`` price and promo
  columns; dates ``DD-Mon-YYYY UTC``; ``Tax Rate`` is a fraction (``0.19``).

Rules:
- both files are comma-separated with a header row; each physical line is one row read with
  ``csv`` quoting (a quoted comma is data), so a stray quote spoils only its own line;
- headers match trimmed and case-insensitive; a required column missing makes the file
  unreadable (``FileFormatError``, line 1); a column we do not know is listed once in
  ``unknown_columns`` and ignored;
- amounts use a decimal point (Amazon writes these reports the same in every marketplace); a
  row with a wrong field count, a malformed amount, date, rate or quantity, an empty order id on
  a SALE/REFUND, or amounts that do not add up (net + VAT = gross) is a ``Problem`` with its line
  number and is left out; the good rows are kept;
- ``VatLine.kind`` is ``SALE`` or ``REFUND`` for the sale and refund rows of both formats (the
  calculation report's SHIPMENT is a SALE); other activities keep Amazon's word.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from hub.amazon.files.flatfile import FileFormatError, Problem, header_index, split_lines

VAT_TRANSACTIONS = "GET_VAT_TRANSACTION_DATA"
VAT_CALCULATION = "SC_VAT_TAX_REPORT"
REPORT_TYPES = (VAT_TRANSACTIONS, VAT_CALCULATION)
MAX_FIELD = 2000  # characters; a longer field is a broken line, not data
# What the hub stores of a line (``hub.storage.tables.vat_reports``): longer is a bad line.
LIMITS = {
    "kind": 40,
    "order_id": 64,
    "transaction_id": 100,
    "sku": 64,
    "asin": 20,
    "currency": 3,
    "marketplace": 40,
    "jurisdiction": 40,
    "depart_country": 2,
    "arrival_country": 2,
    "invoice_number": 100,
}
MAX_AMOUNT = Decimal(10) ** 14  # NUMERIC(19, 4): 15 digits before the point

# field -> AVTR column (the ones ACORN reads)
AVTR_FIELDS = {
    "kind": "TRANSACTION_TYPE",
    "order_id": "TRANSACTION_EVENT_ID",
    "transaction_id": "ACTIVITY_TRANSACTION_ID",
    "sku": "SELLER_SKU",
    "asin": "ASIN",
    "quantity": "QTY",
    "tax_date": "TAX_CALCULATION_DATE",
    "currency": "TRANSACTION_CURRENCY_CODE",
    "net": "TOTAL_ACTIVITY_VALUE_AMT_VAT_EXCL",
    "vat": "TOTAL_ACTIVITY_VALUE_VAT_AMT",
    "gross": "TOTAL_ACTIVITY_VALUE_AMT_VAT_INCL",
    "rate": "PRICE_OF_ITEMS_VAT_RATE_PERCENT",
    "marketplace": "MARKETPLACE",
    "jurisdiction": "TAXABLE_JURISDICTION",
    "depart_country": "SALE_DEPART_COUNTRY",
    "arrival_country": "SALE_ARRIVAL_COUNTRY",
    "invoice_number": "VAT_INV_NUMBER",
}
AVTR_REQUIRED = (
    "TRANSACTION_TYPE",
    "TRANSACTION_EVENT_ID",
    "SELLER_SKU",
    "TOTAL_ACTIVITY_VALUE_AMT_VAT_EXCL",
    "TOTAL_ACTIVITY_VALUE_VAT_AMT",
    "TOTAL_ACTIVITY_VALUE_AMT_VAT_INCL",
    "TRANSACTION_CURRENCY_CODE",
)
# Amazon's other AVTR columns: known, not read (so they are not reported as unknown).
AVTR_OTHER = [
    "UNIQUE_ACCOUNT_IDENTIFIER",
    "ACTIVITY_PERIOD",
    "SALES_CHANNEL",
    "PROGRAM_TYPE",
    "TRANSACTION_DEPART_DATE",
    "TRANSACTION_ARRIVAL_DATE",
    "TRANSACTION_COMPLETE_DATE",
    "ITEM_DESCRIPTION",
    "ITEM_MANUFACTURE_COUNTRY",
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
    "PRICE_OF_ITEMS_AMT_VAT_INCL",
    "PROMO_PRICE_OF_ITEMS_AMT_VAT_INCL",
    "TOTAL_PRICE_OF_ITEMS_AMT_VAT_INCL",
    "SHIP_CHARGE_AMT_VAT_INCL",
    "PROMO_SHIP_CHARGE_AMT_VAT_INCL",
    "TOTAL_SHIP_CHARGE_AMT_VAT_INCL",
    "GIFT_WRAP_AMT_VAT_INCL",
    "PROMO_GIFT_WRAP_AMT_VAT_INCL",
    "TOTAL_GIFT_WRAP_AMT_VAT_INCL",
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
    "TAXABLE_JURISDICTION_LEVEL",
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
]

COMPONENTS = ("OUR_PRICE", "SHIPPING", "GIFTWRAP")
CALCULATION_FIELDS = {
    "kind": "Transaction Type",
    "order_id": "Order ID",
    "transaction_id": "Transaction ID",
    "sku": "SKU",
    "asin": "ASIN",
    "quantity": "Quantity",
    "tax_date": "Tax Calculation Date",
    "currency": "Currency",
    "rate": "Tax Rate",
    "marketplace": "Marketplace ID",
    "jurisdiction": "Jurisdiction Name",
    "depart_country": "Ship From Country",
    "arrival_country": "Ship To Country",
    "invoice_number": "VAT Invoice Number",
}
# the money columns: (gross, vat, net) per component, price then promo
CALCULATION_MONEY = tuple(
    (f"{c} Tax Inclusive {part}", f"{c} Tax Amount{suffix}", f"{c} Tax Exclusive {part}")
    for c in COMPONENTS
    for part, suffix in (("Selling Price", ""), ("Promo Amount", " Promo"))
)
CALCULATION_REQUIRED = (
    "Transaction Type",
    "Order ID",
    "SKU",
    "Currency",
    "OUR_PRICE Tax Inclusive Selling Price",
    "OUR_PRICE Tax Amount",
)
CALCULATION_OTHER = (
    "Merchant ID",
    "Order Date",
    "Is Invoice Corrected",
    "Shipment Date",
    "Shipment ID",
    "Product Tax Code",
    "Tax Type",
    "Tax Calculation Reason Code",
    "Tax Reporting Scheme",
    "Tax Collection Responsibility",
    "Tax Address Role",
    "Jurisdiction Level",
    "Seller Tax Registration",
    "Seller Tax Registration Jurisdiction",
    "Buyer Tax Registration",
    "Buyer Tax Registration Jurisdiction",
    "Buyer Tax Registration Type",
    "Invoice Url",
    "Export Outside EU",
    "Ship From City",
    "Ship From State",
    "Ship From Postal Code",
    "Ship To City",
    "Ship To State",
    "Ship To Postal Code",
    "Is Amazon Invoiced",
)
_KINDS = {"SHIPMENT": "SALE", "SALES": "SALE"}
_MONTHS = {
    m: n
    for n, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


@dataclass(frozen=True, slots=True)
class VatLine:
    """One row of either report; money is signed as in the file (refunds negative)."""

    line_no: int
    kind: str
    order_id: str
    transaction_id: str
    sku: str
    asin: str
    quantity: int | None
    tax_date: datetime | None
    currency: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    rate: Decimal | None  # a fraction: 0.19
    marketplace: str
    jurisdiction: str
    depart_country: str
    arrival_country: str
    invoice_number: str


@dataclass(frozen=True, slots=True)
class VatFile:
    """A parsed report: its good lines, what was wrong, and the columns we ignored."""

    report_type: str
    lines: list[VatLine]
    problems: list[Problem]
    unknown_columns: tuple[str, ...]


def parse_vat(text: str, report_type: str) -> VatFile:
    """Parse one report of ``report_type``; FileFormatError when it cannot be read at all."""
    if report_type not in REPORT_TYPES:
        raise FileFormatError(f"not a VAT report type: {report_type!r}")
    rows = split_lines(text.lstrip("\ufeff"))
    if not rows:
        raise FileFormatError("the file is empty")
    header = _fields(rows[0])
    if header is None:
        raise FileFormatError("the header row cannot be read")
    avtr = report_type == VAT_TRANSACTIONS
    required = AVTR_REQUIRED if avtr else CALCULATION_REQUIRED
    index = header_index(header, required)
    fields = AVTR_FIELDS if avtr else CALCULATION_FIELDS
    known = {c.lower() for c in (*fields.values(), *(AVTR_OTHER if avtr else CALCULATION_OTHER))}
    known |= {c.lower() for c in (*required, *(m for t in CALCULATION_MONEY for m in t))}
    unknown = tuple(header[i].strip() for n, i in index.items() if n and n not in known)
    lines: list[VatLine] = []
    problems: list[Problem] = []
    for line_no, raw in enumerate(rows[1:], start=2):
        if not raw.strip():
            continue
        try:
            lines.append(_line(raw, line_no, len(header), index, avtr))
        except ValueError as err:
            problems.append(Problem(line_no, str(err)))
    return VatFile(report_type, lines, problems, unknown)


def _fields(raw: str) -> list[str] | None:
    try:
        found = next(csv.reader([raw]), [])
    except csv.Error:
        return None
    return found if all(len(f) <= MAX_FIELD for f in found) else None


def _line(raw: str, line_no: int, width: int, index: Mapping[str, int], avtr: bool) -> VatLine:
    row = _fields(raw)
    if row is None or len(row) != width:
        got = "unreadable quoting or an overlong field" if row is None else f"{len(row)} fields"
        raise ValueError(f"expected {width} fields, got {got}")

    def get(column: str) -> str:
        at = index.get(column.lower())
        return row[at].strip() if at is not None else ""

    fields = AVTR_FIELDS if avtr else CALCULATION_FIELDS
    kind = get(fields["kind"]).upper()
    kind = _KINDS.get(kind, kind)
    if avtr:
        gross, vat, net = (_amount(get(fields[f])) for f in ("gross", "vat", "net"))
        rate = _rate(get(fields["rate"]), Decimal(100))
        tax_date = _date(get(fields["tax_date"]) or get("TRANSACTION_COMPLETE_DATE"))
    else:
        gross, vat, net = (
            sum((_amount(get(c[n])) for c in CALCULATION_MONEY), Decimal(0)) for n in range(3)
        )
        rate = _rate(get(fields["rate"]), Decimal(1))
        tax_date = _date(get(fields["tax_date"]))
    order_id = get(fields["order_id"])
    if kind in ("SALE", "REFUND") and not order_id:
        raise ValueError(f"{kind} row without an order id")
    if net + vat != gross:
        raise ValueError(f"net {net} + VAT {vat} is not the gross {gross}")
    line = VatLine(
        line_no,
        kind,
        order_id,
        get(fields["transaction_id"]),
        get(fields["sku"]),
        get(fields["asin"]),
        _quantity(get(fields["quantity"])),
        tax_date,
        get(fields["currency"]).upper(),
        net,
        vat,
        gross,
        rate,
        get(fields["marketplace"]),
        get(fields["jurisdiction"]),
        get(fields["depart_country"]),
        get(fields["arrival_country"]),
        get(fields["invoice_number"]),
    )
    for name, limit in LIMITS.items():
        if len(getattr(line, name)) > limit:
            raise ValueError(f"{name} longer than {limit} characters")
    return line


def _amount(text: str) -> Decimal:
    """A decimal-point amount; empty is zero."""
    if not text:
        return Decimal(0)
    if len(text) > 24 or text.strip("-+0123456789."):
        raise ValueError(f"malformed amount {text[:40]!r}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"malformed amount {text!r}") from None
    if not value.is_finite() or abs(value) >= MAX_AMOUNT or _places(value) > 4:
        raise ValueError(f"amount {text!r} out of range or finer than 4 decimals")
    return value


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _rate(text: str, scale: Decimal) -> Decimal | None:
    if not text:
        return None
    rate = _amount(text) / scale
    if not Decimal(0) <= rate < Decimal(1) or _places(rate) > 4:
        raise ValueError(f"VAT rate {text!r} out of range")
    return rate


def _quantity(text: str) -> int | None:
    if not text:
        return None
    body = text.removeprefix("-")
    if not body.isdigit() or len(body) > 9:
        raise ValueError(f"malformed quantity {text[:40]!r}")
    return int(text)


def _date(text: str) -> datetime | None:
    """``DD-MM-YYYY`` (AVTR), ``DD-Mon-YYYY[ HH:MM:SS] UTC`` (calculation report) or ISO 8601."""
    text = text.removesuffix("UTC").strip()
    if not text:
        return None
    day, _, rest = text.partition("-")
    month, _, year = rest.partition("-")
    year = year.split(" ", 1)[0]
    try:
        if day.isdigit() and year.isdigit() and len(year) == 4:
            number = int(month) if month.isdigit() else _MONTHS[month[:3].lower()]
            return datetime(int(year), number, int(day), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except (KeyError, ValueError):
        raise ValueError(f"unreadable date {text[:40]!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
