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
(``hub.amazon.files.columns``) and every field is checked and typed in C: an amount in the usual
local form, a plain quantity, a time in the usual form. The lines stay Arrow columns
(``hub.amazon.files.settlement_lines``): parsing builds no row, and the rows are made only when
asked. Only a line that is not in the usual form takes the Python path (it is read, or its
problem says the same as ever, and its typed fields are put back into the columns); a file
Arrow cannot split as we do (a bare ``\\r``) is read line by line in Python. The total is added
in C on decimal128.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from operator import attrgetter, itemgetter

import pyarrow as pa
import pyarrow.compute as pc

from hub.amazon.files.columns import (
    Columns,
    integers,
    numbers,
    plain_amounts,
    read_columns,
    usual_times,
)
from hub.amazon.files.flatfile import (
    FileFormatError,
    Problem,
    header_index,
    parse_amount,
    parse_time,
    split_lines,
)
from hub.amazon.files.settlement_lines import (
    TEXT_FIELDS,
    LineColumns,
    SettlementLine,
    SettlementLines,
    collector_paused,
    decimal_texts,
    naive_times,
)

__all__ = ["SettlementFile", "SettlementLine", "SettlementLines", "Summary", "parse_settlement"]

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
# The text fields of a line are TEXT_FIELDS (in SettlementLine order, after line_no); then
# the raw values that get converted: amount, posted-date-time, posted-date, quantity-purchased.
RAW_FIELDS = ("amount", "posted-date-time", "posted-date", "quantity-purchased")
TEXTS = len(TEXT_FIELDS)
_new = tuple.__new__  # builds a NamedTuple without its keyword-parsing __new__
_fromisoformat = datetime.fromisoformat
_INT64 = range(-(2**63), 2**63)


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
    lines: SettlementLines
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
            quantity = int(values[TEXTS + 3]) if values[TEXTS + 3] else None
            if quantity is not None and quantity not in _INT64:
                raise ValueError(f"quantity {quantity} out of range")
            return _new(SettlementLine, (line_no, *values[:TEXTS], amount, posted, quantity))
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
        found = self.text(body, field)
        return pa.chunked_array([pa.repeat("", body.table.num_rows)]) if found is None else found

    def text(self, body: Columns, field: int) -> pa.ChunkedArray | None:
        """The column of TEXT_FIELDS + RAW_FIELDS[field]; None when the file has none."""
        position = self.positions[field]
        return body.table.column(position) if position < self.width else None


def _time(text: str) -> datetime | None:
    """A time; Amazon's usual ``YYYY-MM-DD HH:MM:SS UTC`` takes a path 6x faster."""
    if len(text) == 23 and text.endswith(" UTC"):
        return _fromisoformat(text[:19] + "+00:00")
    return parse_time(text)


def parse_settlement(text: str, decimal_comma: bool) -> SettlementFile:
    """Parse a whole settlement file; FileFormatError when it cannot be read at all."""
    end = text.find("\n")
    header = text[: end if end >= 0 else len(text)].removesuffix("\r").split("\t")
    if not any(header):
        raise FileFormatError("the file is empty")
    parser = _Parser(header, decimal_comma)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    try:
        if "\r" in text:
            raise ValueError("a bare carriage return: Arrow would end a line there")
        columns = read_columns(text, parser.width)
    except (ValueError, pa.ArrowException):
        summary, rows = _slow(parser, split_lines(text))
        lines = SettlementLines.of(rows)
    else:
        summary, lines = _columnar(parser, columns)
    parser.problems.sort(key=attrgetter("line"))
    _check_total(summary, lines.total(), parser.problems)
    return SettlementFile(summary, lines, parser.problems, parser.unknown)


def _columnar(parser: _Parser, columns: Columns) -> tuple[Summary, SettlementLines]:
    """The fast path: every column checked and typed in C, the other rows line by line."""
    for line_no, line in columns.cut:
        parser.cut(line.split("\t"), line_no)
    if not columns.table.num_rows:
        raise FileFormatError("no summary row: the file has a header only")
    summary = parser.summary(columns.row(0), columns.line_no[0])
    body = columns.rest()
    # Arrow's kernels let go of the GIL: the three columns are checked on both cores at once.
    with ThreadPoolExecutor(2, thread_name_prefix="settlement-columns") as pool:
        checked = list(pool.map(lambda check: check(parser, body), _CHECKS))
    (amount, plain), (posted, usual), (quantity, whole) = checked
    typed = pc.and_(plain, pc.and_(usual, whole))
    found = LineColumns(
        numbers(body.line_no),
        tuple(parser.text(body, n) for n in range(TEXTS)),
        amount,
        posted,
        quantity,
    )
    if pc.all(typed).as_py() is not False:
        return summary, SettlementLines(found)
    slow = pc.indices_nonzero(pc.invert(typed)).to_pylist()
    return summary, SettlementLines(_slow_rows(parser, body, found, slow))


def _amounts(parser: _Parser, body: Columns) -> tuple[pa.Array, pa.Array]:
    """The amounts in the usual form, as ``Decimal`` reads them, and which rows have one."""
    return plain_amounts(parser.column(body, TEXTS), parser.decimal_comma)


def _times(parser: _Parser, body: Columns) -> tuple[pa.Array, pa.Array]:
    """The posted times in the usual form (posted-date when posted-date-time is empty), and
    which rows have one or none."""
    text = parser.column(body, TEXTS + 1)
    filled = pc.not_equal(text, "")
    if pc.all(filled).as_py() is False:  # some lines have only posted-date (no copy otherwise)
        text = pc.if_else(filled, text, parser.column(body, TEXTS + 2))
    times, usual = usual_times(text)
    return times, pc.or_(usual, pc.equal(text, ""))


def _quantities(parser: _Parser, body: Columns) -> tuple[pa.Array, pa.Array]:
    """The plain quantities, and which rows have one or none."""
    text = parser.column(body, TEXTS + 3)
    values, whole = integers(text)
    return values, pc.or_(whole, pc.equal(text, ""))


_CHECKS = (_amounts, _times, _quantities)


def _slow_rows(parser: _Parser, body: Columns, found: LineColumns, slow: list[int]) -> LineColumns:
    """The rows not in the usual form read by Python: the good ones' typed fields put into the
    columns, the malformed ones (a problem each) left out."""
    read: dict[int, SettlementLine] = {}
    for index in slow:
        line = parser.line(body.row(index), body.line_no[index])
        if line is not None:
            read[index] = line
    rows = numbers(range(len(found)))
    if read:
        good = list(read.values())
        found = found.patched(
            pc.is_in(rows, pa.array(list(read), pa.int64())),
            decimal_texts([line.amount for line in good]),
            naive_times([line.posted_at for line in good]),
            pa.array([line.quantity for line in good], pa.int64()),
        )
    malformed = [index for index in slow if index not in read]
    if malformed:
        found = found.filter(pc.invert(pc.is_in(rows, pa.array(malformed, pa.int64()))))
    return found


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
    with collector_paused():
        for number in range(line_no + 1, len(rows) + 1):
            row = rows[number - 1].split("\t")
            if len(row) != parser.width:
                parser.cut(row, number)
            elif (line := parser.line(row, number)) is not None:
                found.append(line)
    return summary, found


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
