"""The settlement parser's columnar path: malformed lines still reported line by line, by table.

The file format rules themselves are tested in tests/amazon/test_pure.py; here, what the columnar
reader must not lose when it leaves rows out or falls back to Python for some of them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hub.amazon.files.settlement import parse_settlement
from spapi_sim.settlement import COLUMNS

SUMMARY = {
    "settlement-id": "77",
    "settlement-start-date": "2026-01-01 00:00:00 UTC",
    "settlement-end-date": "2026-01-15 00:00:00 UTC",
    "deposit-date": "2026-01-16 00:00:00 UTC",
    "total-amount": "",
    "currency": "EUR",
}
LINE = {
    "settlement-id": "77",
    "transaction-type": "Refund",
    "order-id": "302-1",
    "merchant-order-id": "302-1",
    "adjustment-id": "A1",
    "amount-type": "ItemPrice",
    "amount-description": "Principal",
    "amount": "-1.234,50",
    "posted-date": "01/05/26",
    "posted-date-time": "2026-01-05 10:00:00 UTC",
    "quantity-purchased": "1",
    "sku": "SKU-1",
}
WHEN = datetime(2026, 1, 5, 10, tzinfo=UTC)


def _row(values: dict[str, str], columns: tuple[str, ...] = COLUMNS) -> str:
    return "\t".join(values.get(c, "") for c in columns)


def _file(*rows: str, columns: tuple[str, ...] = COLUMNS, end: str = "\n") -> str:
    return end.join(["\t".join(columns), _row(SUMMARY, columns), *rows]) + end


CASES = [
    # (rows, expected (line_no, amount, posted_at, quantity) of the kept lines, problem lines)
    ([_row(LINE)] * 3, [(n, "-1234.50", WHEN, 1) for n in (3, 4, 5)], []),
    ([_row(LINE), "", _row(LINE)], [(3, "-1234.50", WHEN, 1), (5, "-1234.50", WHEN, 1)], []),
    ([_row(LINE), "77\tRefund", _row(LINE)], [(3, "-1234.50", WHEN, 1), (5, "-1234.50", WHEN, 1)],
     [4]),
    ([_row({**LINE, "amount": "1,2,3"}), _row(LINE)], [(4, "-1234.50", WHEN, 1)], [3]),
    ([_row({**LINE, "quantity-purchased": "x"}), _row(LINE)], [(4, "-1234.50", WHEN, 1)], [3]),
    ([_row({**LINE, "posted-date-time": "05.01.2026 10:00:00"})], [(3, "-1234.50", WHEN, 1)], []),
    ([_row({**LINE, "posted-date-time": ""})],
     [(3, "-1234.50", datetime(2026, 1, 5, tzinfo=UTC), 1)], []),
    ([_row({**LINE, "posted-date-time": "soon"}), _row(LINE)], [(4, "-1234.50", WHEN, 1)], [3]),
    ([_row({**LINE, "posted-date-time": "", "posted-date": "", "quantity-purchased": ""})],
     [(3, "-1234.50", None, None)], []),
]  # fmt: skip


@pytest.mark.parametrize(("rows", "kept", "problems"), CASES)
@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_lines_kept_and_problems_by_line(
    rows: list[str], kept: list[tuple[int, str, datetime | None, int | None]], problems: list[int],
    end: str,
) -> None:  # fmt: skip
    """The same lines and the same problems whatever the line ends."""
    parsed = parse_settlement(_file(*rows, end=end), decimal_comma=True)
    assert [(r.line_no, r.amount, r.posted_at, r.quantity) for r in parsed.lines] == [
        (n, Decimal(a), t, q) for n, a, t, q in kept
    ]
    assert [p.line for p in parsed.problems] == problems
    assert all(r.sku == "SKU-1" and r.merchant_order_id == "302-1" for r in parsed.lines)


def test_problem_messages_are_the_python_paths() -> None:
    """A malformed amount says what it always said, and the total check follows it."""
    text = _file(_row(LINE), _row({**LINE, "amount": "9,5q"}))
    text = text.replace("\t\tEUR", "\t-1.234,50\tEUR", 1)
    parsed = parse_settlement(text, decimal_comma=True)
    assert [(p.line, p.message) for p in parsed.problems] == [(4, "malformed amount '9,5q'")]


def test_a_bare_carriage_return_is_text() -> None:
    """A stray CR inside a field stays in it (the Python path; Arrow would end the line)."""
    text = _file(_row({**LINE, "amount-description": "Princi\rpal"}), _row(LINE))
    parsed = parse_settlement(text, decimal_comma=True)
    assert [r.amount_description for r in parsed.lines] == ["Princi\rpal", "Principal"]
    assert [r.line_no for r in parsed.lines] == [3, 4] and not parsed.problems


def test_a_file_without_optional_columns() -> None:
    """Absent optional columns read empty; amounts without a decimal comma."""
    columns = ("settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date",
               "total-amount", "currency", "transaction-type", "amount-type",
               "amount-description", "amount")  # fmt: skip
    summary = {**SUMMARY, "total-amount": "-2,469.00"}
    rows = [_row({**LINE, "amount": "-1,234.50"}, columns)] * 2
    text = "\n".join(["\t".join(columns), _row(summary, columns), *rows]) + "\n"
    parsed = parse_settlement(text, decimal_comma=False)
    assert not parsed.problems
    assert [(r.amount, r.posted_at, r.sku, r.quantity) for r in parsed.lines] == [
        (Decimal("-1234.50"), None, "", None)
    ] * 2


def test_a_cut_line_before_the_summary() -> None:
    """The summary is the first whole row; a cut line before it is a problem of its own."""
    text = "\t".join(COLUMNS) + "\n77\tcut\n" + _row(SUMMARY) + "\n" + _row(LINE) + "\n"
    parsed = parse_settlement(text, decimal_comma=True)
    assert parsed.summary.settlement_id == "77" and [p.line for p in parsed.problems] == [2]
    assert [r.line_no for r in parsed.lines] == [4]
