"""The V2 settlement flat file (``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``), parsed fast (pure).

Rules (the general flat-file rules are in ``hub.amazon.files.flatfile``):
- columns are found by header name, once per file; a column we do not know is listed in
  ``unknown_columns`` (and ignored), a required column that is missing makes the whole file
  unreadable (``FileFormatError``, line 1);
- the first data row is the summary (dates, deposit date, total amount, currency);
- amounts are ``Decimal`` in the marketplace's local format (``decimal_comma`` in DE, FR, IT, ES);
- a bad row (wrong number of fields, malformed amount, date or quantity) becomes a ``Problem``
  with its line number and is left out; the good rows are kept;
- when the lines do not add up to the summary's total, that is a problem too (a truncated file).

Speed (a million lines): Arrow's CSV reader splits the file in C on every core
(``hub.amazon.files.columns``); amounts and quantities are converted once per distinct text, times
in the usual form in C, and the typed rows are built by one ``map`` over the columns with
``tuple.__new__``, the cyclic collector paused. Only a malformed line takes the Python path (its
problem says the same as ever); a file Arrow cannot split as we do (a bare ``\\r``) is read line
by line in Python.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from hub.amazon.files.columns import Columns, by_value, read_columns, utc_times
from hub.amazon.files.flatfile import (
    FileFormatError,
    Problem,
    header_index,
    parse_amount,
    parse_time,
    split_lines,
)

REQUIRED = (
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "amount-type",
    "amount-description",
    "amount",
)
OPTIONAL = (
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
    "promotion-id",
)
# The text fields of a line, in SettlementLine order (after line_no), then the raw values that
# get converted: amount, posted-date-time, posted-date, quantity-purchased.
TEXT_FIELDS = (
    "settlement-id",
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "fulfillment-id",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
)
RAW_FIELDS = ("amount", "posted-date-time", "posted-date", "quantity-purchased")
TEXTS = len(TEXT_FIELDS)
_new = tuple.__new__  # builds a NamedTuple without its keyword-parsing __new__
_fromisoformat = datetime.fromisoformat


class SettlementLine(NamedTuple):
    """One transaction line; text fields are "" when the file leaves them empty."""

    line_no: int
    settlement_id: str
    transaction_type: str
    order_id: str
    merchant_order_id: str
    adjustment_id: str
    shipment_id: str
    marketplace_name: str
    amount_type: str
    amount_description: str
    fulfillment_id: str
    order_item_code: str
    merchant_order_item_id: str
    merchant_adjustment_item_id: str
    sku: str
    amount: Decimal
    posted_at: datetime | None
    quantity: int | None


@dataclass(frozen=True, slots=True)
class Summary:
    """The summary row."""

    settlement_id: str
    start: datetime | None
    end: datetime | None
    deposit: datetime | None
    total: Decimal | None
    currency: str


@dataclass(frozen=True, slots=True)
class SettlementFile:
    """A parsed file: its summary, its good lines, what was wrong, and columns we ignored."""

    summary: Summary
    lines: list[SettlementLine]
    problems: list[Problem]
    unknown_columns: tuple[str, ...]


class _Parser:
    """One file's header, its problems, and the per-line slow path."""

    def __init__(self, header: list[str], decimal_comma: bool) -> None:
        index = header_index(header, REQUIRED)
        self.width = len(header)
        # Where each of TEXT_FIELDS + RAW_FIELDS is; an absent optional column reads "".
        self.positions = [index.get(c, self.width) for c in (*TEXT_FIELDS, *RAW_FIELDS)]
        self.get = itemgetter(*self.positions)
        self.index = index
        self.unknown = tuple(n for n in index if n not in REQUIRED and n not in OPTIONAL)
        self.decimal_comma = decimal_comma
        self.problems: list[Problem] = []

    def summary(self, row: list[str], line_no: int) -> Summary:
        """The summary row; FileFormatError if it cannot be read."""

        def field(name: str) -> str:
            return row[self.index[name]].strip()

        total = field("total-amount")
        try:
            return Summary(
                field("settlement-id"),
                _time(field("settlement-start-date")),
                _time(field("settlement-end-date")),
                _time(field("deposit-date")),
                parse_amount(total, self.decimal_comma) if total else None,
                field("currency"),
            )
        except ValueError as err:
            raise FileFormatError(f"summary row: {err}", line_no) from None

    def line(self, row: list[str], line_no: int) -> SettlementLine | None:
        """One line from its fields (the slow path); None, and a problem, if it is malformed."""
        values = self.get([*row, ""])
        try:
            amount = parse_amount(values[TEXTS], self.decimal_comma)
            posted = _time(values[TEXTS + 1] or values[TEXTS + 2])
            quantity = values[TEXTS + 3]
            return _new(
                SettlementLine,
                (line_no, *values[:TEXTS], amount, posted, int(quantity) if quantity else None),
            )
        except ValueError as err:
            self.problems.append(Problem(line_no, str(err)))
            return None

    def cut(self, row: list[str], line_no: int) -> None:
        """Report a line with the wrong number of fields (an empty line is no problem)."""
        if row != [""]:
            self.problems.append(
                Problem(
                    line_no,
                    f"{len(row)} fields where the header has "
                    f"{self.width}: the line is cut or malformed",
                )
            )

    def column(self, body: Columns, field: int) -> pa.ChunkedArray:
        """The column of TEXT_FIELDS + RAW_FIELDS[field]; all "" when the file has none."""
        position = self.positions[field]
        if position < self.width:
            return body.table.column(position)
        return pa.chunked_array([pa.repeat("", body.table.num_rows)])


def _time(text: str) -> datetime | None:
    """A time; Amazon's usual ``YYYY-MM-DD HH:MM:SS UTC`` takes a path 6x faster."""
    if len(text) == 23 and text.endswith(" UTC"):
        return _fromisoformat(text[:19] + "+00:00")
    return parse_time(text)


def _quantity(text: str) -> int | None:
    return int(text) if text else None


def parse_settlement(text: str, decimal_comma: bool) -> SettlementFile:
    """Parse a whole settlement file; FileFormatError when it cannot be read at all."""
    end = text.find("\n")
    header = text[: end if end >= 0 else len(text)].removesuffix("\r").split("\t")
    if not any(header):
        raise FileFormatError("the file is empty")
    parser = _Parser(header, decimal_comma)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    with _collector_paused():
        try:
            if "\r" in text:
                raise ValueError("a bare carriage return: Arrow would end a line there")
            columns = read_columns(text, parser.width)
        except (ValueError, pa.ArrowException):
            summary, lines = _slow(parser, split_lines(text))
            added = None
        else:
            summary, lines, added = _columnar(parser, columns)
    parser.problems.sort(key=attrgetter("line"))
    if added is None:
        added = sum((line.amount for line in lines), Decimal(0))
    _check_total(summary, added, parser.problems)
    return SettlementFile(summary, lines, parser.problems, parser.unknown)


def _columnar(
    parser: _Parser, columns: Columns
) -> tuple[Summary, list[SettlementLine], Decimal | None]:
    """The fast path: every column converted at once, the malformed rows line by line."""
    for line_no, line in columns.cut:
        parser.cut(line.split("\t"), line_no)
    if not columns.table.num_rows:
        raise FileFormatError("no summary row: the file has a header only")
    summary = parser.summary(columns.row(0), columns.line_no[0])
    body = columns.rest()
    texts = body.texts(parser.positions[:TEXTS])
    comma = parser.decimal_comma
    amounts = by_value(parser.column(body, TEXTS), lambda t: parse_amount(t, comma))
    quantities = by_value(parser.column(body, TEXTS + 3), _quantity)
    posted = pc.if_else(
        pc.not_equal(parser.column(body, TEXTS + 1), ""),
        parser.column(body, TEXTS + 1),
        parser.column(body, TEXTS + 2),
    )
    times, other = utc_times(posted)
    slow = {*amounts.bad, *quantities.bad}
    taken = posted.take(pa.array(other, pa.int64())).to_pylist() if other else []
    for index, text in zip(other, taken, strict=True):
        if text:  # a time in another form: Python's parser, or the line's problem
            slow.add(index)
    fields = (body.line_no, *texts, amounts.values, times, quantities.values)
    found: list[SettlementLine | None] = list(
        map(_new, repeat(SettlementLine), zip(*fields, strict=True))
    )
    if not slow:
        added = sum((amount * count for amount, count in amounts.counts), Decimal(0))
        return summary, found, added  # type: ignore[return-value]  # no None without slow rows
    for index in slow:
        found[index] = parser.line(body.row(index), body.line_no[index])
    return summary, [line for line in found if line is not None], None


def _slow(parser: _Parser, rows: list[str]) -> tuple[Summary, list[SettlementLine]]:
    """The whole file line by line in Python (files Arrow cannot split as we do)."""
    for line_no in range(2, len(rows) + 1):
        row = rows[line_no - 1].split("\t")
        if len(row) == parser.width:
            summary = parser.summary(row, line_no)
            break
        parser.cut(row, line_no)
    else:
        raise FileFormatError("no summary row: the file has a header only")
    found: list[SettlementLine] = []
    for number in range(line_no + 1, len(rows) + 1):
        row = rows[number - 1].split("\t")
        if len(row) != parser.width:
            parser.cut(row, number)
        elif (line := parser.line(row, number)) is not None:
            found.append(line)
    return summary, found


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a million rows are built.

    Rows hold only strings, numbers and datetimes (no cycles), but every row is a tracked object
    and the collector would walk the growing list again and again: parsing gets 3x slower.
    The rows outlive the parse, so at the end they go straight to the oldest generation
    (``freeze`` then ``unfreeze``) rather than being walked once more by the first young
    collection after the pause (0.7 s for a million rows); they are collected like any other
    long-lived object.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def _check_total(summary: Summary, added: Decimal, problems: list[Problem]) -> None:
    if summary.total is None:
        return
    if added != summary.total:
        problems.append(
            Problem(
                2,
                f"total-amount {summary.total} does not equal the sum of the "
                f"lines {added}: lines are missing or unreadable",
            )
        )
