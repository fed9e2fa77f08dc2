"""The VAT report parser: both formats by header name, problems per line, no input crashes it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.amazon.files.flatfile import FileFormatError
from hub.amazon.files.vat import VAT_CALCULATION, VAT_TRANSACTIONS, VatFile, parse_vat

AVTR_HEADER = [
    "UNIQUE_ACCOUNT_IDENTIFIER", "ACTIVITY_PERIOD", "SALES_CHANNEL", "MARKETPLACE",
    "TRANSACTION_TYPE", "TRANSACTION_EVENT_ID", "ACTIVITY_TRANSACTION_ID",
    "TAX_CALCULATION_DATE", "SELLER_SKU", "ASIN", "ITEM_DESCRIPTION", "QTY",
    "TOTAL_ACTIVITY_VALUE_AMT_VAT_EXCL", "PRICE_OF_ITEMS_VAT_RATE_PERCENT",
    "TOTAL_ACTIVITY_VALUE_VAT_AMT", "TOTAL_ACTIVITY_VALUE_AMT_VAT_INCL",
    "TRANSACTION_CURRENCY_CODE", "SALE_DEPART_COUNTRY", "SALE_ARRIVAL_COUNTRY",
    "TAXABLE_JURISDICTION", "VAT_INV_NUMBER", "A_COLUMN_AMAZON_ADDED_LATER",
]  # fmt: skip
CALC_HEADER = [
    "Marketplace ID", "Merchant ID", "Order Date", "Transaction Type", "Order ID",
    "Transaction ID", "ASIN", "SKU", "Quantity", "Tax Calculation Date", "Tax Rate", "Currency",
    "OUR_PRICE Tax Inclusive Selling Price", "OUR_PRICE Tax Amount",
    "OUR_PRICE Tax Exclusive Selling Price", "OUR_PRICE Tax Inclusive Promo Amount",
    "OUR_PRICE Tax Amount Promo", "OUR_PRICE Tax Exclusive Promo Amount",
    "SHIPPING Tax Inclusive Selling Price", "SHIPPING Tax Amount",
    "SHIPPING Tax Exclusive Selling Price", "Jurisdiction Name", "Ship From Country",
    "Ship To Country", "VAT Invoice Number",
]  # fmt: skip


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _avtr_row(kind: str, order: str, sku: str, net: str, vat: str, gross: str) -> list[str]:
    return [
        "A1", "2026-FEB", "MFN", "Amazon.de", kind, order, "T1", "14-02-2026", sku, "B0X",
        'Mug, "large"', "1", net, "19.00", vat, gross, "EUR", "DE", "DE", "DE", "CN-1", "x",
    ]  # fmt: skip


def test_avtr_rows_by_header_name_with_an_unknown_column_reported_once() -> None:
    text = _csv(AVTR_HEADER, [
        _avtr_row("SALE", "302-1", "SKU-1", "84.03", "15.97", "100.00"),
        _avtr_row("REFUND", "302-1", "SKU-1", "-84.03", "-15.97", "-100.00"),
    ])  # fmt: skip
    parsed = parse_vat(text, VAT_TRANSACTIONS)
    assert parsed.problems == [] and parsed.unknown_columns == ("A_COLUMN_AMAZON_ADDED_LATER",)
    sale, refund = parsed.lines
    assert (sale.kind, refund.kind) == ("SALE", "REFUND")
    assert (refund.order_id, refund.sku, refund.gross, refund.vat, refund.net) == (
        "302-1", "SKU-1", Decimal("-100.00"), Decimal("-15.97"), Decimal("-84.03"))  # fmt: skip
    assert refund.rate == Decimal("0.19") and refund.line_no == 3
    assert refund.tax_date == datetime(2026, 2, 14, tzinfo=UTC)


def test_calculation_report_sums_price_promo_and_shipping_and_calls_shipment_a_sale() -> None:
    row = ["DE", "A1", "01-Feb-2026 UTC", "SHIPMENT", "302-2", "409", "B0X", "SKU-2", "1",
           "03-Feb-2026 UTC", "0.19", "EUR", "59.50", "9.50", "50.00", "-11.90", "-1.90",
           "-10.00", "5.95", "0.95", "5.00", "DE", "DE", "DE", "INV-1"]  # fmt: skip
    parsed = parse_vat(_csv(CALC_HEADER, [row]), VAT_CALCULATION)
    assert parsed.problems == [] and parsed.unknown_columns == ()
    (line,) = parsed.lines
    assert line.kind == "SALE" and line.rate == Decimal("0.19")
    assert (line.gross, line.vat, line.net) == (Decimal("53.55"), Decimal("8.55"), Decimal("45.00"))
    assert line.tax_date == datetime(2026, 2, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("row", "says"),
    [
        (_avtr_row("REFUND", "302-1", "S", "-84.03", "-15.97", "-99.00"), "is not the gross"),
        (_avtr_row("REFUND", "302-1", "S", "-84,03", "-15.97", "-100.00"), "malformed amount"),
        (_avtr_row("REFUND", "", "S", "-84.03", "-15.97", "-100.00"), "without an order id"),
        (_avtr_row("REFUND", "302-1", "S", "1e3", "0", "1e3"), "malformed amount"),
        (_avtr_row("REFUND", "302-1", "S", "1.00001", "0", "1.00001"), "finer than 4"),
        (_avtr_row("REFUND", "302-1", "S" * 65, "1", "0", "1"), "sku longer than 64"),
        (_avtr_row("REFUND", "302-1", "S", "1", "0", "1")[:-1], "expected 22 fields"),
    ],
)
def test_a_bad_line_is_a_problem_and_the_good_lines_are_kept(row: list[str], says: str) -> None:
    good = _avtr_row("SALE", "302-9", "SKU-9", "8.40", "1.60", "10.00")
    parsed = parse_vat(_csv(AVTR_HEADER, [good, row, good]), VAT_TRANSACTIONS)
    assert [line.line_no for line in parsed.lines] == [2, 4]
    (problem,) = parsed.problems
    assert problem.line == 3 and says in problem.message


def test_a_stray_quote_spoils_only_its_own_line() -> None:
    good = ",".join(_avtr_row("SALE", "302-9", "SKU-9", "8.40", "1.60", "10.00")).replace(
        'Mug, "large"', "Mug"
    )
    bad = good.replace("Mug", '"Mug')
    text = ",".join(AVTR_HEADER) + "\n" + "\n".join([good, bad, good]) + "\n"
    parsed = parse_vat(text, VAT_TRANSACTIONS)
    assert [line.line_no for line in parsed.lines] == [2, 4] and parsed.problems[0].line == 3


@pytest.mark.parametrize(
    ("text", "says"),
    [("", "empty"), ("ORDER,THING\n1,2\n", "required column(s) missing")],
)
def test_an_unreadable_file_is_one_error(text: str, says: str) -> None:
    with pytest.raises(FileFormatError) as caught:
        parse_vat(text, VAT_TRANSACTIONS)
    assert says in caught.value.reason and caught.value.line == 1


CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "-1.00", "19.00", "0.19", "1e9", "NaN", "-0", '"', "12-13-2026",
                     "31-Feb-2026 UTC", "01-02-2026", "2026-02-01T00:00:00", "REFUND", "SALE"]),
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from([VAT_TRANSACTIONS, VAT_CALCULATION]),
    rows=st.lists(st.lists(CELL, min_size=0, max_size=26), max_size=6),
    junk=st.text(max_size=40),
)
def test_no_input_crashes_the_parser(kind: str, rows: list[list[str]], junk: str) -> None:
    header = AVTR_HEADER if kind == VAT_TRANSACTIONS else CALC_HEADER
    for text in (_csv(header, rows) + junk, junk):
        try:
            parsed = parse_vat(text, kind)
        except FileFormatError:
            continue
        assert isinstance(parsed, VatFile)
        assert all(line.net + line.vat == line.gross for line in parsed.lines)
        assert len(parsed.lines) + len(parsed.problems) <= len(text.splitlines())
