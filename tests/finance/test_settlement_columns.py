"""The settlement's columnar lines against the row-by-row path, by tables and by properties.

The oracle is the parser's own Python path (``_slow``: every line through ``_Parser.line``) on the
same text: the columnar lines must be the same rows (amounts with the same scale, times in UTC),
the same problems, the same total check.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.amazon.files import settlement_lines
from hub.amazon.files.flatfile import Problem, split_lines
from hub.amazon.files.settlement import (
    SettlementFile,
    SettlementLine,
    SettlementLines,
    _check_total,
    _Parser,
    _slow,
    parse_settlement,
)
from spapi_sim.settlement import COLUMNS
from tests.finance.test_settlement_parse import LINE, SUMMARY

ODD_AMOUNTS = ["9,5q", "1,2,3", "", "1e5", "+5", "NaN", ",5", "5,", "1.234.567,8", "0.000,5",
               "-0", "007,10", "12.34,5", "1,5.000", "--1", "-", "1.5", "12.345", "٣", " 5"]
ODD_TIMES = ["2026-02-30 10:00:00 UTC", "2024-02-29 10:00:00 UTC", "2026-1-5 10:00:00 UTC",
             "2026-01-05 23:59:60 UTC", "0000-01-01 00:00:00 UTC", "0001-01-01 00:00:00 UTC",
             "2026-01-05T10:00:00Z", "2026-01-05T10:00:00 UTC", "05.01.2026 10:00:00", "soon",
             "2026-01-05 10:00:00+02:00", " 2026-01-05 10:00:00 UTC", "2026-04-31 00:00:00 UTC",
             "2026-01-05 10:00:00.250 UTC", "9999-12-31 23:59:59 UTC", "2026-01-05 24:00:00 UTC"]
ODD_QUANTITIES = ["x", "+3", " 4", "1_000", "0x10", "99999999999999999999", "-0", "007", "-",
                  "9223372036854775807", "9223372036854775808", "1.0"]  # fmt: skip


def _row(values: dict[str, str]) -> str:
    return "\t".join(values.get(c, "") for c in COLUMNS)


def _file(rows: list[str], total: str = "", end: str = "\n") -> str:
    return end.join(["\t".join(COLUMNS), _row({**SUMMARY, "total-amount": total}), *rows]) + end


def _oracle(text: str, decimal_comma: bool) -> tuple[list[SettlementLine], list[Problem]]:
    """The row-by-row path on the whole text: its rows and its problems."""
    header = split_lines(text)[0].split("\t")
    parser = _Parser(header, decimal_comma)
    summary, rows = _slow(parser, split_lines(text))
    parser.problems.sort(key=lambda p: p.line)
    _check_total(summary, sum((r.amount for r in rows), Decimal(0)), parser.problems)
    return rows, parser.problems


def _same(parsed: SettlementFile, rows: list[SettlementLine], problems: list[Problem]) -> None:
    got = list(parsed.lines)
    assert got == rows
    assert [str(r.amount) for r in got] == [str(r.amount) for r in rows]  # the same scale
    assert all(r.posted_at is None or r.posted_at.utcoffset() == timedelta(0) for r in got)
    assert parsed.problems == problems


def _malformed_rows() -> list[str]:
    rows = [_row(LINE), "", "77\tRefund", _row(LINE) + "\textra", _row(LINE)]
    rows += [_row({**LINE, "amount": a}) for a in ODD_AMOUNTS]
    rows += [_row({**LINE, "posted-date-time": t}) for t in ODD_TIMES]
    rows += [_row({**LINE, "posted-date-time": "", "posted-date": d})
             for d in ("01/05/26", "", "31.12.2025", "2026-13-01")]  # fmt: skip
    rows += [_row({**LINE, "quantity-purchased": q}) for q in ODD_QUANTITIES]
    return rows


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_every_kind_of_malformed_line_as_the_row_by_row_path(end: str) -> None:
    """Cut, long, empty lines; odd amounts, times and quantities, good and bad: the same rows,
    the same problems, line by line, as the Python path gives."""
    text = _file(_malformed_rows(), total="-1.234,50", end=end)
    parsed = parse_settlement(text, decimal_comma=True)
    rows, problems = _oracle(text, decimal_comma=True)
    assert len(rows) > 20 and len(problems) > 20  # both kinds are really there
    _same(parsed, rows, problems)


def test_without_a_decimal_comma_as_the_row_by_row_path() -> None:
    """Grouped amounts with a decimal point, odd ones too."""
    amounts = ["-1,234.50", "1,234,567.8", "12,34.5", "1.2.3", ".5", "5.", "0,000.5", "1.5,000"]
    text = _file([_row({**LINE, "amount": a}) for a in amounts], total="5.00")
    parsed = parse_settlement(text, decimal_comma=False)
    _same(parsed, *_oracle(text, decimal_comma=False))
    assert parsed.problems[-1].line == 2  # the total check follows the lines kept


def test_a_bare_carriage_return_keeps_the_python_path_and_the_columns() -> None:
    """A file Arrow cannot split is read line by line; its lines are columns all the same."""
    text = _file([_row({**LINE, "sku": "S\rX"}), _row({**LINE, "amount": "bad"}), _row(LINE)])
    parsed = parse_settlement(text, decimal_comma=True)
    _same(parsed, *_oracle(text, decimal_comma=True))
    assert isinstance(parsed.lines, SettlementLines) and parsed.lines.column("sku")[0] == "S\rX"


# short amounts are added in int64, long ones on decimal128 (the sum here stays in 28 digits)
CENTS = st.one_of(st.integers(-10**12, 10**12), st.integers(-10**22, 10**22))
FRACTION = st.sampled_from([0, 1, 2, 3])


@st.composite
def _valid_lines(draw: st.DrawFn) -> tuple[list[dict[str, str]], Decimal]:
    lines, total = [], Decimal(0)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(draw(st.integers(0, 40))):
        places = draw(FRACTION)
        amount = Decimal(draw(CENTS)).scaleb(-places)
        total += amount
        text = format(amount, "f").replace(".", ",")
        seconds = draw(st.integers(0, 10**8))
        posted = (start + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S UTC")
        quantity = draw(st.sampled_from(["", "1", "2", "-1", "12"]))
        lines.append({**LINE, "order-id": f"302-{n}", "amount": text, "posted-date-time": posted,
                      "quantity-purchased": quantity})  # fmt: skip
    return lines, total


@settings(max_examples=150, deadline=None)
@given(_valid_lines())
def test_the_total_in_c_is_the_decimal_sum_of_the_rows(case: tuple[list[dict[str, str]], Decimal]
                                                       ) -> None:  # fmt: skip
    """For valid files, the sum added in C (int64 or decimal128) equals the Decimal sum of the
    rows."""
    lines, total = case
    text = _file([_row(line) for line in lines], total=format(total, "f").replace(".", ","))
    parsed = parse_settlement(text, decimal_comma=True)
    assert parsed.problems == []
    assert parsed.lines.total() == sum((r.amount for r in parsed.lines), Decimal(0)) == total
    assert parsed.lines.amounts() == [r.amount for r in parsed.lines]
    _same(parsed, *_oracle(text, decimal_comma=True))


def test_a_long_whole_amount_beside_a_finer_scale_is_added_exactly() -> None:
    """An amount that fits int64 as it stands may not once brought to another line's finer
    scale (hypothesis found 9223372036854776 beside a 0,000: in thousandths it passes int64's
    largest, and the sum wrapped to -9223372036854775.616)."""
    lines = [{**LINE, "order-id": "302-0", "amount": "9223372036854776"},
             {**LINE, "order-id": "302-1", "amount": "0,000"}]
    text = _file([_row(line) for line in lines], total="9223372036854776,000")
    parsed = parse_settlement(text, decimal_comma=True)
    assert parsed.problems == []
    assert parsed.lines.total() == Decimal("9223372036854776.000")


FIELD = st.one_of(st.sampled_from(ODD_AMOUNTS + ODD_TIMES + ODD_QUANTITIES + ["", "1"]),
                  st.text(st.characters(exclude_characters="\t\n\r"), max_size=8))  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(FIELD, FIELD, FIELD, st.booleans()), max_size=12))
def test_any_lines_as_the_row_by_row_path(cells: list[tuple[str, str, str, bool]]) -> None:
    """Random amounts, times and quantities (and cut lines): the same rows and problems."""
    rows = [
        _row({**LINE, "amount": a, "posted-date-time": t, "quantity-purchased": q})
        if whole else "77\t" + a
        for a, t, q, whole in cells
    ]  # fmt: skip
    text = _file(rows, total="1,00")
    _same(parse_settlement(text, decimal_comma=True), *_oracle(text, decimal_comma=True))


def _lines(count: int) -> SettlementLines:
    rows = [_row({**LINE, "order-id": f"302-{n}", "amount": f"{n},{n % 100:02d}"})
            for n in range(count)]  # fmt: skip
    return parse_settlement(_file(rows), decimal_comma=True).lines


def test_len_index_slice_and_iteration(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sequence of rows: len, indexes (negative too), slices, iteration across chunks."""
    monkeypatch.setattr(settlement_lines, "CHUNK", 3)  # iteration crosses chunk boundaries
    lines = _lines(10)
    rows = list(lines)
    assert len(lines) == 10 and [r.line_no for r in rows] == list(range(3, 13))
    assert lines[0] == rows[0] and lines[-1] == rows[9] and lines[4] == rows[4]
    with pytest.raises(IndexError):
        lines[10]
    with pytest.raises(IndexError):
        lines[-11]
    for key in (slice(2, 7), slice(None, 4), slice(-3, None), slice(8, 100), slice(5, 2)):
        part = lines[key]
        assert isinstance(part, SettlementLines) and list(part) == rows[key]
        assert part.line_numbers() == [r.line_no for r in rows[key]]
    assert list(lines[2:9][1:3]) == rows[3:5]
    with pytest.raises(ValueError, match="step"):
        lines[::2]
    assert rows[5] in lines and lines.index(rows[5]) == 5
    assert list(reversed(lines)) == rows[::-1]


def test_column_accessors_are_the_rows_fields() -> None:
    """Every accessor gives what the rows hold, without building them."""
    lines = _lines(7)
    rows = list(lines)
    assert lines.column("order-id") == [r.order_id for r in rows]
    assert lines.column("Order-ID ") == [r.order_id for r in rows]  # header names, as matched
    assert lines.column("shipment-id") == [""] * 7  # a column the file leaves empty
    assert lines.arrow("sku").to_pylist() == [r.sku for r in rows]
    assert lines.amounts() == [r.amount for r in rows]
    assert lines.posted_times() == [r.posted_at for r in rows]
    assert lines.quantities() == [r.quantity for r in rows]
    assert lines.line_numbers() == [r.line_no for r in rows]
    assert lines.total() == sum((r.amount for r in rows), Decimal(0))
    with pytest.raises(KeyError, match="no text column 'amount'"):
        lines.column("amount")


def test_a_file_without_optional_columns_reads_empty_texts() -> None:
    """An absent optional column reads "" in rows, columns and Arrow alike."""
    columns = ("settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date",
               "total-amount", "currency", "transaction-type", "amount-type",
               "amount-description", "amount")  # fmt: skip
    summary, line = ["77", "", "", "", "", "EUR", "", "", "", ""], ["77", *[""] * 5, "Order"]
    text = "\n".join(["\t".join(columns), "\t".join(summary),
                      "\t".join([*line, "ItemPrice", "Principal", "5"])])  # fmt: skip
    lines = parse_settlement(text + "\n", decimal_comma=False).lines
    assert lines.column("sku") == [""] and lines.arrow("order-id").to_pylist() == [""]
    assert list(lines) == [SettlementLine(3, "77", "Order", *[""] * 5, "ItemPrice", "Principal",
                                          *[""] * 5, Decimal(5), None, None)]  # fmt: skip


def test_lines_made_in_python_and_totals_beyond_decimal128() -> None:
    """Rows made by Python become the same columns; a total too long for decimal128 is added
    in Python, exactly."""
    big = Decimal("12345678901234567890123456789.123456789")
    when = datetime(2026, 1, 5, 10, 0, 0, 250_000, tzinfo=UTC)
    rows = [SettlementLine(3, *["x"] * 14, big, when, 2**62),
            SettlementLine(4, *["y"] * 14, Decimal("-0.5"), None, None)]  # fmt: skip
    lines = SettlementLines.of(rows)
    assert list(lines) == rows and lines.posted_times() == [when, None]
    assert str(lines.total()) == "12345678901234567890123456788.623456789"
    assert list(SettlementLines.of([])) == [] and SettlementLines.of([]).total() == 0
