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

Speed: ``str.split`` per line (twice as fast as ``csv``), one ``itemgetter`` per row, amounts
through ``Decimal`` after a C-speed character check and cached by text, the previous line's time
reused, the common time format on a fast path, rows built
with ``tuple.__new__``, the cyclic collector paused.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from typing import NamedTuple

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
    """One pass over one file; keeps the caches and the problems."""

    def __init__(self, header: list[str], decimal_comma: bool) -> None:
        index = header_index(header, REQUIRED)
        self.width = len(header)
        fields = (*TEXT_FIELDS, *RAW_FIELDS)
        self.pad = any(c not in index for c in fields)  # an absent optional column reads ""
        self.get = itemgetter(*(index.get(c, self.width) for c in fields))
        self.index = index
        self.unknown = tuple(n for n in index if n not in REQUIRED and n not in OPTIONAL)
        self.decimal_comma = decimal_comma
        self.amounts: dict[str, Decimal] = {}
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

    def lines(self, rows: list[str], first: int) -> list[SettlementLine]:
        """The typed lines from ``rows[first - 1:]``.

        The hot loop, kept flat on purpose (a million rows): names bound locally, amounts cached
        by text (fees and prices repeat), the time of the previous line reused (an order's lines
        are adjacent and share it).
        """
        found: list[SettlementLine] = []
        append, width, pad, get, comma = (
            found.append,
            self.width,
            self.pad,
            self.get,
            self.decimal_comma,
        )
        amounts, problems, last_text, last_time = self.amounts, self.problems, "", None
        for line_no in range(first, len(rows) + 1):
            row = rows[line_no - 1].split("\t")
            if len(row) != width:
                self._cut(row, line_no)
                continue
            if pad:
                row.append("")
            values = get(row)
            try:
                text = values[TEXTS]
                amount = amounts.get(text)
                if amount is None:
                    amount = amounts[text] = parse_amount(text, comma)
                posted = values[TEXTS + 1] or values[TEXTS + 2]
                if posted != last_text:
                    last_text, last_time = posted, _time(posted)
                quantity = values[TEXTS + 3]
                append(
                    _new(
                        SettlementLine,
                        (
                            line_no,
                            *values[:TEXTS],
                            amount,
                            last_time,
                            int(quantity) if quantity else None,
                        ),
                    )
                )
            except ValueError as err:
                last_text = ""
                problems.append(Problem(line_no, str(err)))
        return found

    def _cut(self, row: list[str], line_no: int) -> None:
        if row != [""]:
            self.problems.append(
                Problem(
                    line_no,
                    f"{len(row)} fields where the header has "
                    f"{self.width}: the line is cut or malformed",
                )
            )


def _time(text: str) -> datetime | None:
    """A time; Amazon's usual ``YYYY-MM-DD HH:MM:SS UTC`` takes a path 6x faster."""
    if len(text) == 23 and text.endswith(" UTC"):
        return _fromisoformat(text[:19] + "+00:00")
    return parse_time(text)


def parse_settlement(text: str, decimal_comma: bool) -> SettlementFile:
    """Parse a whole settlement file; FileFormatError when it cannot be read at all."""
    rows = split_lines(text)
    header = rows[0].split("\t") if rows else []
    if not any(header):
        raise FileFormatError("the file is empty")
    parser = _Parser(header, decimal_comma)
    summary, first = _summary(parser, rows)
    with _collector_paused():
        lines = parser.lines(rows, first)
    _check_total(summary, lines, parser.problems)
    return SettlementFile(summary, lines, parser.problems, parser.unknown)


def _summary(parser: _Parser, rows: list[str]) -> tuple[Summary, int]:
    """The summary row (the first whole data row) and the line number after it."""
    for line_no in range(2, len(rows) + 1):
        row = rows[line_no - 1].split("\t")
        if len(row) == parser.width:
            return parser.summary(row, line_no), line_no + 1
        parser._cut(row, line_no)
    raise FileFormatError("no summary row: the file has a header only")


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


def _check_total(summary: Summary, lines: list[SettlementLine], problems: list[Problem]) -> None:
    if summary.total is None:
        return
    added = sum((line.amount for line in lines), Decimal(0))
    if added != summary.total:
        problems.append(
            Problem(
                2,
                f"total-amount {summary.total} does not equal the sum of the "
                f"lines {added}: lines are missing or unreadable",
            )
        )
