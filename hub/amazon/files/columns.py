"""A flat file read column by column in C (pyarrow), for files of a million lines (pure).

Rules:
- the text is split by Arrow's CSV reader (tab, nothing quoted, every column a string, no nulls),
  on every core, encoded to UTF-8 a block at a time as the reader asks for it; the header is
  the caller's (``width`` columns), the rows follow it;
- a row with another number of fields is not in the table: its line number and text are in
  ``Columns.cut``; empty lines are skipped (they still count as lines);
- ``Columns.line_no`` gives each table row its line number in the file (1 is the header);
- conversions go by distinct value (``by_value``): each distinct text is converted once in Python
  and the rows take the result by index, so repeated amounts and quantities cost nothing; a text
  that does not convert marks its rows ``BAD`` for the caller to report line by line;
- times in Amazon's usual ``YYYY-MM-DD HH:MM:SS UTC`` and plain integers are read in C
  (``usual_times``, ``integers``): a text is taken only when Python would read it the same way;
  any other text is null there, for the caller's slower path;
- Python values are made from the columns only when asked (``python_strings``, ``python_times``,
  ``by_value``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import Any, Final, NamedTuple, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

BAD: Final = object()  # a text that did not convert
_USUAL_TIME: Final = (
    r"^(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(?:0[1-9]|1[0-2])-"
    r"(?:0[1-9]|[12][0-9]|3[01]) (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9] UTC$"
)
_YEAR_ONE: Final = pa.scalar(datetime(1, 1, 1), pa.timestamp("s"))
Arrayish: TypeAlias = pa.Array | pa.ChunkedArray
_fromtimestamp = datetime.fromtimestamp
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Columns:
    """The rows that have ``width`` fields, as columns, with their line numbers."""

    table: pa.Table
    line_no: Sequence[int]
    cut: list[tuple[int, str]]

    def rest(self) -> Columns:
        """The rows after the first."""
        return Columns(self.table.slice(1), self.line_no[1:], self.cut)

    def row(self, index: int) -> list[str]:
        """One table row's fields (for the few rows that need the slow path)."""
        return [self.table.column(c)[index].as_py() for c in range(self.table.num_columns)]


def read_columns(text: str, width: int) -> Columns:
    """The rows after the header line of ``text`` (``\\n`` line ends), as string columns."""
    cut: list[tuple[int, str]] = []
    seen: list[str] = []

    def skip(row: Any) -> str:
        seen.append(row.text)
        return "skip"

    names = [f"c{n}" for n in range(width)]
    table = pacsv.read_csv(
        pa.PythonFile(_Utf8Stream(text), mode="r"),
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
        parse_options=pacsv.ParseOptions(
            delimiter="\t",
            quote_char=False,
            double_quote=False,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=True,
            invalid_row_handler=skip,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            check_utf8=False,  # the bytes are Python's own encoding of a str
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    lines = text.count("\n") - text.endswith("\n")  # after the header (counting "\n" is fast)
    if not seen and table.num_rows == lines:  # no line left out: the rows are the lines
        return Columns(table, range(2, table.num_rows + 2), cut)
    # Rows were left out (cut or empty lines): number the rows by walking the lines once.
    numbers: list[int] = []
    for line_no, line in enumerate(text.split("\n")[1:], start=2):
        if line.count("\t") == width - 1:
            numbers.append(line_no)
        elif line:
            cut.append((line_no, line))
    if len(numbers) != table.num_rows:
        raise ValueError("the lines and the rows read do not agree")  # the caller's slow path
    return Columns(table, numbers, cut)


class _Utf8Stream(io.RawIOBase):
    """``text`` as UTF-8, encoded a block at a time as Arrow reads it: the blocks are small and
    reused, where encoding the whole text first touched 180 MB of fresh memory for a million
    lines (a quarter of the parse's time in a process that has not parsed before)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._at = 0
        self._wide = 1 if text.isascii() else 4  # at most 4 bytes a character

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._text)
        piece = self._text[self._at : self._at + max(1, size // self._wide)]
        self._at += len(piece)
        return piece.encode("utf-8")


class Converted(NamedTuple):
    """A column converted by distinct value."""

    values: list[Any]  # per row
    bad: list[int]  # the rows whose text did not convert (``BAD`` in ``values``)
    counts: list[tuple[Any, int]]  # each distinct converted value and how many rows have it


def by_value(array: pa.Array | pa.ChunkedArray, convert: Callable[[str], Any]) -> Converted:
    """``convert`` applied to each row's text, once per distinct text; the rows where it raised
    ``ValueError`` hold ``BAD``."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    encoded = array.dictionary_encode()
    values: list[Any] = []
    failed: list[int] = []
    for n, text in enumerate(encoded.dictionary.to_pylist()):
        try:
            values.append(convert(text))
        except ValueError:
            values.append(BAD)
            failed.append(n)
    indices = encoded.indices
    bad = pc.indices_nonzero(pc.is_in(indices, pa.array(failed, pa.int32()))).to_pylist()
    counts = [(values[c["values"]], c["counts"]) for c in pc.value_counts(indices).to_pylist()]
    return Converted(_taken(values, indices), bad, counts)


def by_distinct(array: Arrayish, convert: Callable[[Any], Any]) -> list[Any]:
    """``convert`` (which must not fail) applied to each row's value: once per distinct value
    when values repeat, else straight on each row (cheaper than a dictionary of them)."""
    encoded = _whole(array).dictionary_encode()
    if 2 * len(encoded.dictionary) > len(encoded):
        return list(map(convert, array.to_pylist()))
    return _taken(list(map(convert, encoded.dictionary.to_pylist())), encoded.indices)


def _taken(values: list[Any], indices: pa.Array) -> list[Any]:
    """``values[i]`` for each index of a dictionary array's indices (int32, no nulls)."""
    if len(values) <= 1:
        return values * len(indices)
    view = memoryview(indices.buffers()[1]).cast("i")
    return list(map(values.__getitem__, view[indices.offset : indices.offset + len(indices)]))


def usual_times(text: Arrayish) -> tuple[pa.Array, pa.Array]:
    """Each ``YYYY-MM-DD HH:MM:SS UTC`` text as a UTC timestamp in microseconds (no time zone
    attached), in C, and which rows hold one; another text is null there, for the caller's
    slower path. A time Python would not read (``2026-02-30``, ``1-5``, year 0, second 60) is
    not one."""
    # Arrow's ISO reader checks the digits, the ranges and the day of the month, but a file
    # with one bad time fails as a whole: then the form is checked by a regular expression and
    # read with strptime, whose day is then checked against the month.
    usual = _whole(pc.and_(pc.equal(pc.binary_length(text), 23), pc.ends_with(text, " UTC")))
    bare = pc.if_else(usual, pc.utf8_slice_codeunits(text, 0, 19), "1970-01-01 00:00:00")
    try:
        times = bare.cast(pa.timestamp("s"))
    except pa.ArrowInvalid:
        usual = _whole(pc.match_substring_regex(text, _USUAL_TIME))
        bare = pc.if_else(usual, bare, "1970-01-01 00:00:00")
        times = pc.strptime(bare, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
        month = pc.cast(pc.utf8_slice_codeunits(bare, 5, 7), pa.int64())
        usual = pc.and_(usual, pc.equal(pc.month(times), month)).fill_null(False)
    usual = pc.and_(usual, pc.greater_equal(times, _YEAR_ONE))  # Python has no year 0
    times = pc.if_else(usual, times, pa.scalar(None, pa.timestamp("s")))
    return _whole(times.cast(pa.timestamp("us"))), usual


def integers(text: Arrayish) -> tuple[pa.Array, pa.Array]:
    """Each plain integer text (``-12``, at most 18 digits) as int64, in C, and which rows hold
    one; another text is null there."""
    plain = pc.match_substring_regex(text, r"^-?[0-9]{1,18}$")
    values = pc.if_else(plain, text, pa.scalar(None, pa.string())).cast(pa.int64())
    return _whole(values), _whole(plain)


def numbers(values: Sequence[int]) -> pa.Array:
    """A sequence of ints as int64 (a ``range`` of step 1 is made in C)."""
    if isinstance(values, range) and values.step == 1 and len(values):
        ones = pa.repeat(pa.scalar(1, pa.int64()), len(values))
        return pc.add(pc.cumulative_sum(ones), values.start - 1)
    return pa.array(values, pa.int64())


def python_strings(arrays: Sequence[Arrayish | None], rows: int) -> list[list[str]]:
    """String columns as Python strings; None reads "" on every row, a column of one value is
    built without reading it, and a column equal to one before it shares its strings
    (merchant-order-id is often the order-id; making each distinct string once by a dictionary
    was measured slower)."""
    done: dict[int, list[str]] = {}
    bounds: dict[int, Any] = {}
    found: list[list[str]] = []
    for array in arrays:
        key = id(array)
        if key not in done:
            if array is None:
                done[key] = [""] * rows
            elif not len(array):
                done[key] = []
            else:
                bounds[key] = pc.min_max(array).as_py()
                done[key] = _same(array, key, arrays, bounds, done) or _strings(array, bounds[key])
        found.append(done[key])
    return found


def _same(
    array: Arrayish,
    key: int,
    arrays: Sequence[Arrayish | None],
    bounds: dict[int, Any],
    done: dict[int, list[str]],
) -> list[str] | None:
    """The strings of an earlier column with the same values; only a column with the same least
    and greatest value is compared."""
    for other in arrays:
        if other is None or id(other) == key or id(other) not in bounds:
            continue
        if bounds[id(other)] == bounds[key] and pc.all(pc.equal(array, other)).as_py() is not False:
            return done[id(other)]
    return None


def _strings(array: Arrayish, bounds: dict[str, Any]) -> list[str]:
    if bounds["min"] == bounds["max"]:
        return [bounds["min"]] * len(array)
    return array.to_pylist()  # type: ignore[no-any-return]


def python_times(times: Arrayish) -> list[datetime | None]:
    """UTC timestamps in microseconds (no time zone attached) as aware datetimes; null is None."""
    micros = _whole(times.cast(pa.int64()))
    if not len(micros):
        return []
    nulls = micros.null_count
    if nulls:
        micros = micros.fill_null(0)
    view = memoryview(micros.buffers()[1]).cast("q")[micros.offset : micros.offset + len(micros)]
    seconds = pc.divide(micros, 1_000_000)
    found: list[datetime | None]
    if pc.all(pc.equal(pc.multiply(seconds, 1_000_000), micros)).as_py():
        whole = memoryview(seconds.buffers()[1]).cast("q")[: len(seconds)]
        found = list(map(_fromtimestamp, whole, repeat(UTC)))
    else:
        found = [_EPOCH + timedelta(microseconds=m) for m in view]
    if nulls:
        for index in pc.indices_nonzero(times.is_null()).to_pylist():
            found[index] = None
    return found


def _whole(array: Arrayish) -> pa.Array:
    """One contiguous array."""
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


_PLAIN_AMOUNT: Final = {
    True: r"^-?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,[0-9]+)?$",
    False: r"^-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?$",
}


def plain_amounts(text: Arrayish, decimal_comma: bool) -> tuple[pa.Array, pa.Array]:
    """Each amount in the usual local form (``-1.234,50`` with a decimal comma, ``-1,234.50``
    without) as the text ``Decimal`` reads (``-1234.50``), in C, and which rows hold one. The
    form is a part of what ``flatfile.parse_amount`` accepts, read to the same text; any other
    amount (good or bad) is left to it, line by line."""
    plain = pc.match_substring_regex(text, _PLAIN_AMOUNT[decimal_comma])
    group, point = (".", ",") if decimal_comma else (",", ".")
    read = text
    if pc.any(pc.match_substring(text, group)).as_py():
        read = pc.replace_substring(text, group, "")
    if point != ".":
        read = pc.replace_substring(read, point, ".")
    return _whole(read), _whole(plain)
