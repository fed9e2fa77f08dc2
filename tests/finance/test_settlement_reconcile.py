"""Settlement reconciliation by tables (pure): matching, differences, the deposit, repeats, months.

Each case is a small settlement (lines built from a few refund items and sales) against ACORN's
refund items; what it asserts is what finance reads: the kinds of difference per refund, the
components that differ, the deposit's flags and the month parts that make up the one deposit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hub.finance.settlements.accounting import (
    AccountMapError,
    default_accounts_text,
    load_accounts_yaml,
    summarize,
)
from hub.finance.settlements.model import Line, RefundItem, Report, Settlement
from hub.finance.settlements.reconcile import dedupe, deposit_check, reconcile

D = Decimal
START, END = datetime(2026, 1, 20, tzinfo=UTC), datetime(2026, 2, 3, tzinfo=UTC)
JAN, FEB = datetime(2026, 1, 28, 9, tzinfo=UTC), datetime(2026, 2, 1, 9, tzinfo=UTC)
SEEN = datetime(2026, 2, 4, tzinfo=UTC)
# An adjusted item's components as Amazon posts them: money back negative, commission back
# positive, the refund commission kept negative.
REFUNDED = {"Principal": D("-20.00"), "Tax": D("-3.80"), "Commission": D("3.00"),
            "RefundCommission": D("-0.60")}  # fmt: skip


def _report(settlement_id: str = "S1", total: str | None = None, report_id: str = "R1",
            seen: datetime = SEEN, lines: int = 1) -> Report:  # fmt: skip
    return Report("acct", report_id, settlement_id, "A1PA6795UKMFR9", "EUR", START, END,
                  END, None if total is None else D(total), lines, seen)  # fmt: skip


def _refund_lines(order: str, sku: str, adjustment: str, merchant: str,
                  components: dict[str, Decimal], at: datetime = JAN, first: int = 3
                  ) -> list[Line]:  # fmt: skip
    return [
        Line(first + n, "Refund", order, adjustment, merchant, sku,
             "ItemFees" if "Commission" in name else "ItemPrice", name, amount, at)
        for n, (name, amount) in enumerate(components.items())
    ]  # fmt: skip


def _sale(order: str, amount: str, at: datetime = JAN, line_no: int = 100) -> Line:
    return Line(line_no, "Order", order, "", "", "SKU-9", "ItemPrice", "Principal", D(amount), at)


def _item(
    refund: str,
    order: str,
    sku: str,
    adjustment: str,
    components: dict[str, Decimal] | None = None,
    at: datetime | None = JAN,
) -> RefundItem:
    return RefundItem("store-1", refund, refund, order, sku, adjustment, "EUR", at,
                      dict(REFUNDED if components is None else components))  # fmt: skip


def _settle(lines: list[Line], items: list[RefundItem], total: str | None = None,
            **kwargs: object) -> tuple[list[tuple[str, str]], object]:  # fmt: skip
    if total is None:
        total = str(sum((line.amount for line in lines), D(0)))
    result = reconcile(Settlement(_report(total=total)), lines, items, **kwargs)  # type: ignore[arg-type]
    return [(d.kind.value, d.refund or d.order_id) for d in result.differences], result


A = _refund_lines("302-1", "SKU-1", "AJ1", "F1", REFUNDED)
B = _refund_lines("302-2", "SKU-2", "AJ2", "F2", REFUNDED, first=10)


def test_exact_match_has_no_difference() -> None:
    kinds, result = _settle(
        [*A, *B, _sale("302-5", "120.00")],
        [_item("F1", "302-1", "SKU-1", "AJ1"), _item("F2", "302-2", "SKU-2", "AJ2")],
    )
    assert kinds == []
    assert result.matched == 2 and result.refund_lines == 2  # type: ignore[attr-defined]
    assert result.deposit.adds_up  # type: ignore[attr-defined]


def test_in_acorn_but_not_settled() -> None:
    kinds, result = _settle(A, [_item("F1", "302-1", "SKU-1", "AJ1"),
                                _item("F3", "302-3", "SKU-3", "AJ3")])  # fmt: skip
    assert kinds == [("not_settled", "store-1/F3")]
    row = result.differences[0]  # type: ignore[attr-defined]
    assert row.acorn["Principal"] == D("-20.00") and row.settlement["Principal"] == 0


def test_not_settled_only_when_posted_in_the_period_and_in_no_other_settlement() -> None:
    later = _item("F3", "302-3", "SKU-3", "AJ3", at=datetime(2026, 3, 1, tzinfo=UTC))
    elsewhere = _item("F4", "302-4", "SKU-4", "AJ4")
    kinds, _ = _settle(
        A, [_item("F1", "302-1", "SKU-1", "AJ1"), later, elsewhere], elsewhere=frozenset({"AJ4"})
    )
    assert kinds == []


def test_settled_but_unknown_to_acorn() -> None:
    kinds, result = _settle([*A, *B], [_item("F1", "302-1", "SKU-1", "AJ1")])
    assert kinds == [("unknown_to_acorn", "302-2")]
    row = result.differences[0]  # type: ignore[attr-defined]
    assert (
        row.refund == "" and row.settlement["Tax"] == D("-3.80") and row.lines == (10, 11, 12, 13)
    )


def test_matched_on_the_merchant_item_id_when_the_adjustment_id_is_unknown() -> None:
    """A refund settled before its event was read: no adjustment id yet on ACORN's side."""
    kinds, _ = _settle(
        A, [_item("F1", "302-1", "SKU-1", "", components={"Principal": D("-20.00")})]
    )
    assert kinds == []


@pytest.mark.parametrize(
    "component", ["Principal", "Tax", "Shipping", "Commission", "RefundCommission"]
)
def test_amounts_differ_per_component(component: str) -> None:
    settled = {**REFUNDED, component: REFUNDED.get(component, D(0)) - D("0.01")}
    lines = _refund_lines("302-1", "SKU-1", "AJ1", "F1", settled)
    kinds, result = _settle(lines, [_item("F1", "302-1", "SKU-1", "AJ1")])
    assert kinds == [("amounts_differ", "store-1/F1")]
    row = result.differences[0]  # type: ignore[attr-defined]
    assert row.note == f"differ: {component}"
    assert row.acorn[component] - row.settlement[component] == D("0.01")
    others = [n for n in REFUNDED if n != component]
    assert all(row.acorn[n] == row.settlement[n] for n in others)


def test_an_item_without_its_event_compares_its_principal_only() -> None:
    principal_only = _item("F1", "302-1", "SKU-1", "AJ1", components={"Principal": D("-20.00")})
    assert _settle(A, [principal_only])[0] == []
    wrong = replace(principal_only, components={"Principal": D("-19.00")})
    assert _settle(A, [wrong])[0] == [("amounts_differ", "store-1/F1")]


def test_lines_that_do_not_add_up_to_the_deposit() -> None:
    kinds, result = _settle(
        [*A, _sale("302-5", "100.00")], [_item("F1", "302-1", "SKU-1", "AJ1")], total="90.00"
    )
    assert kinds == [("deposit", "")]
    check = result.deposit  # type: ignore[attr-defined]
    assert check.lines_total == D("78.60") and check.gap == D("11.40")
    assert check.flags == ("lines_do_not_add_up", "reserve_or_loan_lines_missing")


def test_a_reserve_line_explains_the_deposit_and_must_come_back() -> None:
    reserve = Line(50, "", "", "", "", "", "Other", "Current Reserve Amount", D("-30.00"), FEB)
    lines = [_sale("302-5", "100.00"), reserve]
    check = deposit_check(D("70.00"), lines)
    assert check.adds_up and check.flags == ("reserve_held",)
    # The next settlement must release it; without the line it is flagged, even if it adds up.
    nxt = [_sale("302-6", "10.00")]
    assert deposit_check(D("10.00"), nxt, previous_reserve=True).flags == (
        "previous_reserve_missing",
    )
    assert not deposit_check(D("10.00"), nxt, previous_reserve=True).adds_up
    back = Line(2, "", "", "", "", "", "Other", "Previous Reserve Amount Balance", D("30.00"), FEB)
    assert deposit_check(D("40.00"), [*nxt, back], previous_reserve=True).adds_up


def test_loan_lines_are_named() -> None:
    loan = Line(7, "Loan Servicing", "", "", "", "", "Other", "Loan Repayment", D("-50.00"), JAN)
    check = deposit_check(D("50.00"), [_sale("302-5", "100.00"), loan])
    assert check.adds_up and check.flags == ("loan_lines",)


def test_a_negative_settlement() -> None:
    """More refunded than sold: Amazon debits the seller; it reconciles like any other."""
    big = {"Principal": D("-400.00"), "Tax": D("-76.00"), "Commission": D("60.00"),
           "RefundCommission": D("-5.00")}  # fmt: skip
    lines = [*_refund_lines("302-1", "SKU-1", "AJ1", "F1", big), _sale("302-5", "50.00")]
    kinds, result = _settle(lines, [_item("F1", "302-1", "SKU-1", "AJ1", big)])
    assert kinds == [] and result.deposit.deposit == D("-371.00")  # type: ignore[attr-defined]
    summary = summarize(lines, load_accounts_yaml(default_accounts_text()), END)
    assert summary.total == D("-371.00")


def test_a_repeated_settlement_counts_once() -> None:
    first = _report("S1", "10.00", "R1", SEEN)
    again = _report("S1", "10.00", "R2", datetime(2026, 2, 5, tzinfo=UTC))
    other = _report("S2", "5.00", "R3", SEEN)
    found = dedupe([again, other, first])
    assert [(s.settlement_id, s.report.report_id, [r.report_id for r in s.repeats])
            for s in found] == [("S1", "R1", ["R2"]), ("S2", "R3", [])]  # fmt: skip
    # a report whose file could not be read (no lines) yields to the one that could
    empty = _report("S3", None, "R4", SEEN, lines=0)
    read = _report("S3", "1.00", "R5", datetime(2026, 2, 6, tzinfo=UTC))
    assert [s.report.report_id for s in dedupe([empty, read])] == ["R5"]


def test_a_settlement_across_two_months_splits_and_adds_up() -> None:
    lines = [_sale("302-5", "100.00", JAN, 20), _sale("302-6", "50.00", FEB, 21),
             *_refund_lines("302-1", "SKU-1", "AJ1", "F1", REFUNDED, FEB)]  # fmt: skip
    mapping = load_accounts_yaml(default_accounts_text())
    summary = summarize(lines, mapping, END)
    assert [(p.month, p.amount) for p in summary.parts] == [
        ("2026-01", D("100.00")),
        ("2026-02", D("28.60")),
    ]
    assert summary.total == sum((line.amount for line in lines), D(0)) == D("128.60")
    rows = {(b.month, b.transaction_type, b.amount_type, b.account): b.amount
            for b in summary.bookings}  # fmt: skip
    assert rows == {("2026-01", "Order", "ItemPrice", "8400"): D("100.00"),
                    ("2026-02", "Order", "ItemPrice", "8400"): D("50.00"),
                    ("2026-02", "Refund", "ItemFees", "4970"): D("2.40"),
                    ("2026-02", "Refund", "ItemPrice", "1776"): D("-3.80"),
                    ("2026-02", "Refund", "ItemPrice", "8720"): D("-20.00")}  # fmt: skip


def test_a_line_without_a_posted_time_books_in_the_deposit_month() -> None:
    line = replace(_sale("302-5", "10.00"), posted_at=None)
    summary = summarize([line], load_accounts_yaml(default_accounts_text()), FEB)
    assert [p.month for p in summary.parts] == ["2026-02"]


HEAD = "name: x\nclearing_account: '1'\n"


HEAD = "name: x\nclearing_account: '1'\n"


@pytest.mark.parametrize(("text", "path"), [
    (f"version: 1\n{HEAD}default: {{account: '1'}}\nrules: [{{}}]", "rules.0.account"),
    (f"version: 0\n{HEAD}default: {{account: '1'}}\nrules: []", "version"),
    (f"version: 2\n{HEAD}default: {{account: '1', tax_rate: 101}}\nrules: []", "default.tax_rate"),
    ("- a list", ""),
])  # fmt: skip
def test_a_bad_mapping_names_its_field(text: str, path: str) -> None:
    with pytest.raises(AccountMapError) as caught:
        load_accounts_yaml(text)
    assert caught.value.path.replace("[", ".").replace("]", "") == path


def test_the_first_matching_rule_wins() -> None:
    text = ("version: 2\nname: x\nclearing_account: '1360'\ndefault: {account: '9999'}\nrules:\n"
            "  - {transaction_type: refund, account: '1'}\n"
            "  - {amount_description: Principal, account: '2', tax_rate: 7}\n")  # fmt: skip
    mapping = load_accounts_yaml(text)
    assert mapping.target("Refund", "ItemPrice", "Principal").account == "1"
    assert mapping.target("Order", "ItemPrice", "principal").tax_rate == D(7)
    assert mapping.target("Order", "ItemFees", "Commission").account == "9999"
