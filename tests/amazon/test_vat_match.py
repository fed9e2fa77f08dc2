"""Amazon's VAT report refunds against ACORN's refunds, by tables (``hub.finance.vat_match``)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hub.finance.vat_match import (
    AcornRefund,
    AmazonRefund,
    match_refunds,
    refund_lines,
    vat_in,
)

D = Decimal
AVTR = "GET_VAT_TRANSACTION_DATA"


def ours(
    order: str, sku: str, gross: str, refund: str = "F1", currency: str = "EUR"
) -> AcornRefund:
    return AcornRefund("store-berlin-1", refund, order, sku, D(gross), currency, "confirmed")


def theirs(order: str, sku: str, gross: str, vat: str, line: int = 2, rate: str | None = "0.19",
           currency: str = "EUR") -> AmazonRefund:  # fmt: skip
    return AmazonRefund(AVTR, line, order, sku, f"T{line}", D(gross), D(vat),
                        D(rate) if rate else None, currency, None)  # fmt: skip


def test_an_exact_refund_matches_with_no_difference() -> None:
    result = match_refunds(
        [ours("302-1", "MUG", "119.00")], [theirs("302-1", "MUG", "119.00", "19.00")]
    )
    (pair,) = result.pairs
    assert pair.status == "matched" and pair.amount_difference == 0 and pair.vat_difference == 0
    assert result.only_amazon == [] and result.only_acorn == []


def test_missing_either_way() -> None:
    result = match_refunds(
        [ours("302-1", "MUG", "10.00", "F1"), ours("302-3", "CUP", "5.00", "F3")],
        [theirs("302-1", "MUG", "10.00", "1.60"), theirs("302-2", "MUG", "7.00", "1.12", 3)],
    )
    assert [p.status for p in result.pairs] == ["matched"]
    assert [(a.order_id, a.line_no) for a in result.only_amazon] == [("302-2", 3)]
    assert [(a.order_id, a.refund_id) for a in result.only_acorn] == [("302-3", "F3")]


def test_same_order_other_sku_does_not_match() -> None:
    result = match_refunds(
        [ours("302-1", "CUP", "10.00")], [theirs("302-1", "MUG", "10.00", "1.60")]
    )
    assert result.pairs == [] and len(result.only_amazon) == len(result.only_acorn) == 1


def test_amount_difference_is_amazons_less_acorns() -> None:
    result = match_refunds(
        [ours("302-1", "MUG", "100.00")], [theirs("302-1", "MUG", "95.00", "15.17")]
    )
    (pair,) = result.pairs
    assert pair.status == "amount_differs" and pair.amount_difference == D("-5.00")
    assert result.count("amount_differs") == 1


def test_vat_difference_against_the_vat_in_acorns_gross_at_amazons_rate() -> None:
    # 119.00 at 19 % holds 19.00 VAT; Amazon says 18.00
    (pair,) = match_refunds(
        [ours("302-1", "MUG", "119.00")], [theirs("302-1", "MUG", "119.00", "18.00")]
    ).pairs
    assert pair.status == "vat_differs" and (pair.expected_vat, pair.vat_difference) == (
        D("19.00"),
        D("-1.00"),
    )
    (unchecked,) = match_refunds(
        [ours("302-1", "MUG", "119.00")], [theirs("302-1", "MUG", "119.00", "18.00", rate=None)]
    ).pairs
    assert unchecked.status == "matched" and unchecked.vat_difference is None


def test_two_refunds_of_one_line_pair_by_amount_first() -> None:
    result = match_refunds(
        [ours("302-1", "MUG", "30.00", "F1"), ours("302-1", "MUG", "10.00", "F2")],
        [theirs("302-1", "MUG", "10.00", "1.60", 2), theirs("302-1", "MUG", "31.00", "4.95", 3)],
    )
    assert [(p.acorn.refund_id, p.amazon.line_no, p.status) for p in result.pairs] == [
        ("F2", 2, "matched"), ("F1", 3, "amount_differs")]  # fmt: skip


def test_another_currency_is_not_an_amount_match() -> None:
    (pair,) = match_refunds(
        [ours("302-1", "MUG", "10.00", currency="GBP")], [theirs("302-1", "MUG", "10.00", "1.60")]
    ).pairs
    assert pair.status == "currency_differs" and pair.expected_vat is None


@pytest.mark.parametrize(
    ("gross", "rate", "currency", "vat"),
    [("119.00", "0.19", "EUR", "19.00"), ("10.00", "0.19", "EUR", "1.60"),
     ("0.05", "0.20", "GBP", "0.01"), ("1190", "0.10", "JPY", "108")],
)  # fmt: skip
def test_vat_in_a_gross_amount(gross: str, rate: str, currency: str, vat: str) -> None:
    assert vat_in(D(gross), D(rate), currency) == D(vat)


def test_a_refund_is_split_over_its_skus_by_value_and_adds_up() -> None:
    lines = refund_lines(
        "s1",
        "F1",
        "302-1",
        D("100.00"),
        "EUR",
        "settled",
        [("A", 1, D("10.00")), ("B", 2, D("10.00")), ("A", 1, D("0.01"))],
    )
    assert [(line.sku, line.gross) for line in lines] == [("A", D("33.36")), ("B", D("66.64"))]
    assert sum(line.gross for line in lines) == D("100.00")
    assert refund_lines("s1", "F1", "302-1", D("5"), "EUR", "settled", []) == []
