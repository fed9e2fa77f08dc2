"""A flat file read column by column in C (pyarrow), for files of a million lines (pure).

Rules:
- the text is split by Arrow's CSV reader (tab, nothing quoted, every column a string, no nulls),
  on every core; the header is the caller's (``width`` columns), the rows follow it;
- a row with another number of fields is not in the table: its line number and text are in
  ``Columns.cut``; empty lines are skipped (they still count as lines);
- ``Columns.line_no`` gives each table row its line number in the file (1 is the header);
- conversions go by distinct value (``by_value``): each distinct text is converted once in Python
  and the rows take the result by index, so repeated amounts and quantities cost nothing; a text
  that does not convert marks its rows ``BAD`` for the caller to report line by line;
- times in Amazon's usual ``YYYY-MM-DD HH:MM:SS UTC`` are parsed in C (``utc_times``); any other
  text is ``None`` there, for the caller's slower path.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from typing import Any, Final, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

BAD: Final = object()  # a text that did not convert
_fromtimestamp = datetime.fromtimestamp


@dataclass(frozen=True, slots=True)
class Columns:
    """The rows that have ``width`` fields, as columns, with their line numbers."""

    table: pa.Table
    line_no: Sequence[int]
    cut: list[tuple[int, str]]

    def strings(self, column: int, bounds: dict[str, Any] | None = None) -> list[str]:
        """One column as Python strings (a column of one value is built without reading it;
        making each distinct string once by a dictionary was measured slower)."""
        array = self.table.column(column)
        if not len(array):
            return []
        bounds = bounds or pc.min_max(array).as_py()
        if bounds["min"] == bounds["max"]:
            return [bounds["min"]] * len(array)
        return array.to_pylist()  # type: ignore[no-any-return]

    def texts(self, positions: Sequence[int]) -> list[list[str]]:
        """The columns at ``positions`` as Python strings; a position past the last column reads
        "" on every row, and a column equal to one before it shares its strings."""
        done: dict[int, list[str]] = {}
        bounds: dict[int, Any] = {}
        found: list[list[str]] = []
        for position in positions:
            if position not in done:
                if position >= self.table.num_columns:
                    done[position] = [""] * self.table.num_rows
                else:
                    column = self.table.column(position)
                    bounds[position] = pc.min_max(column).as_py()
                    done[position] = self._same(position, bounds, done) or self.strings(
                        position, bounds[position]
                    )
            found.append(done[position])
        return found

    def _same(
        self, position: int, bounds: dict[int, Any], done: dict[int, list[str]]
    ) -> list[str] | None:
        """The strings of an earlier column with the same values (merchant-order-id is often
        the order-id); only a column with the same least and greatest value is compared."""
        column = self.table.column(position)
        for other, other_bounds in bounds.items():
            if (
                other != position
                and other_bounds == bounds[position]
                and pc.all(pc.equal(column, self.table.column(other))).as_py() is not False
            ):
                return done[other]
        return None

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
        io.BytesIO(text.encode("utf-8")),
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
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    if not seen and "\n\n" not in text:  # no line left out: the rows are the lines
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


def _taken(values: list[Any], indices: pa.Array) -> list[Any]:
    """``values[i]`` for each index of a dictionary array's indices (int32, no nulls)."""
    if len(values) <= 1:
        return values * len(indices)
    view = memoryview(indices.buffers()[1]).cast("i")
    return list(map(values.__getitem__, view[indices.offset : indices.offset + len(indices)]))


def utc_times(array: pa.Array | pa.ChunkedArray) -> tuple[list[datetime | None], list[int]]:
    """Each ``YYYY-MM-DD HH:MM:SS UTC`` text as an aware UTC datetime, and the rows whose text
    is in another form (None there, for the caller's slower path)."""
    parsed = pc.strptime(array, format="%Y-%m-%d %H:%M:%S UTC", unit="s", error_is_null=True)
    seconds = parsed.cast(pa.int64())
    if isinstance(seconds, pa.ChunkedArray):
        seconds = seconds.combine_chunks()
    if not len(seconds):
        return [], []
    other: list[int] = []
    if seconds.null_count:
        other = pc.indices_nonzero(seconds.is_null()).to_pylist()
        seconds = seconds.fill_null(0)
    view = memoryview(seconds.buffers()[1]).cast("q")[
        seconds.offset : seconds.offset + len(seconds)
    ]
    times: list[datetime | None] = list(map(_fromtimestamp, view, repeat(UTC)))
    for index in other:
        times[index] = None
    return times, other
