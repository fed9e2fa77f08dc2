"""A settlement file's good lines as Arrow columns, typed rows built only when asked (pure).

Rules:
- ``SettlementLines`` is a ``Sequence[SettlementLine]``: ``len``, an index (negative too), a
  slice of step 1 (another ``SettlementLines`` over the same columns, nothing copied) and
  iteration, which builds the rows a chunk (``CHUNK``) at a time; an index builds one row, so
  a loop over indexes is slow: iterate, or read columns;
- the columns hold only lines already checked: the texts as Arrow strings (a column the file
  lacks is ``None`` and reads ""), the amount as the text ``Decimal`` reads (so its scale is
  kept: ``-9.50`` stays ``Decimal("-9.50")``), the posted time as microseconds since the epoch,
  UTC (null: none), the quantity as int64 (null: none), the line number as int64;
- the column accessors give one field of every line without building rows (``column`` by header
  name, ``line_numbers``, ``amounts``, ``posted_times``, ``quantities``, ``arrow``); ``total``
  adds the amounts in C on decimal128 when they fit, else in Python: the same exact sum.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import MAX_PREC, Decimal, localcontext
from itertools import repeat
from operator import index as as_index
from typing import NamedTuple, overload

import pyarrow as pa
import pyarrow.compute as pc

from hub.amazon.files.columns import Arrayish, by_distinct, by_value, python_strings, python_times

CHUNK = 65_536
_MAX_DIGITS = 38  # decimal128
_INT64_DIGITS = 18  # int64 holds every 18-digit number
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
_new = tuple.__new__  # builds a NamedTuple without its keyword-parsing __new__


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
class LineColumns:
    """The checked lines, one array per field (see the module's rules)."""

    line_no: Arrayish  # int64
    texts: tuple[Arrayish | None, ...]  # TEXT_FIELDS order
    amount: Arrayish  # string, as Decimal reads it
    posted: Arrayish  # timestamp[us], UTC
    quantity: Arrayish  # int64

    def __len__(self) -> int:
        return len(self.line_no)

    def _each(self, one: Callable[[Arrayish], Arrayish]) -> LineColumns:
        return LineColumns(
            one(self.line_no),
            tuple(None if t is None else one(t) for t in self.texts),
            one(self.amount),
            one(self.posted),
            one(self.quantity),
        )

    def slice(self, start: int, length: int) -> LineColumns:
        """The lines ``start`` to ``start + length`` (nothing copied)."""
        return self._each(lambda array: array.slice(start, length))

    def filter(self, keep: pa.Array) -> LineColumns:
        """The lines where ``keep`` is true."""
        return self._each(lambda array: array.filter(keep))

    def patched(
        self, where: pa.Array, amount: pa.Array, posted: pa.Array, quantity: pa.Array
    ) -> LineColumns:
        """The typed fields replaced on the lines where ``where`` is true, in order."""
        return replace(
            self,
            amount=pc.replace_with_mask(self.amount, where, amount),
            posted=pc.replace_with_mask(self.posted, where, posted),
            quantity=pc.replace_with_mask(self.quantity, where, quantity),
        )


def typed_columns(rows: Sequence[SettlementLine]) -> LineColumns:
    """Rows made by Python (the slow path) as columns."""
    fields: list[tuple[object, ...]] = list(zip(*rows, strict=True)) or [()] * 18
    return LineColumns(
        pa.array(fields[0], pa.int64()),
        tuple(pa.array(f, pa.string()) for f in fields[1:15]),
        decimal_texts(fields[15]),  # type: ignore[arg-type]
        naive_times(fields[16]),  # type: ignore[arg-type]
        pa.array(fields[17], pa.int64()),
    )


def decimal_texts(amounts: Sequence[Decimal]) -> pa.Array:
    """Amounts as the texts that read back as the same ``Decimal`` (scale kept, no exponent)."""
    return pa.array([format(a, "f") for a in amounts], pa.string())


def naive_times(times: Sequence[datetime | None]) -> pa.Array:
    """Aware times as UTC microseconds (no time zone attached)."""
    return pa.array(
        [None if t is None else t.astimezone(UTC).replace(tzinfo=None) for t in times],
        pa.timestamp("us"),
    )


class SettlementLines(Sequence[SettlementLine]):
    """The good lines of a settlement file (see the module's rules)."""

    __slots__ = ("_columns",)

    def __init__(self, columns: LineColumns) -> None:
        self._columns = columns

    @classmethod
    def of(cls, rows: Sequence[SettlementLine]) -> SettlementLines:
        """Lines from rows made in Python."""
        return cls(typed_columns(rows))

    def __len__(self) -> int:
        return len(self._columns)

    @overload
    def __getitem__(self, key: int) -> SettlementLine: ...

    @overload
    def __getitem__(self, key: slice) -> SettlementLines: ...

    def __getitem__(self, key: int | slice) -> SettlementLine | SettlementLines:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                raise ValueError("settlement lines are sliced with a step of 1 only")
            return SettlementLines(self._columns.slice(start, max(0, stop - start)))
        position = as_index(key)
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(f"settlement line {key} of {len(self)}")
        return _rows(self._columns.slice(position, 1))[0]

    def __iter__(self) -> Iterator[SettlementLine]:
        for start in range(0, len(self), CHUNK):
            yield from _rows(self._columns.slice(start, CHUNK))

    def __repr__(self) -> str:
        return f"<SettlementLines: {len(self)} lines>"

    def arrow(self, name: str) -> Arrayish:
        """A text column by header name (``order-id``), as Arrow strings."""
        found = self._columns.texts[_text_field(name)]
        return pa.repeat("", len(self)) if found is None else found

    def column(self, name: str) -> list[str]:
        """A text column by header name (``order-id``), as Python strings."""
        return python_strings([self._columns.texts[_text_field(name)]], len(self))[0]

    def line_numbers(self) -> list[int]:
        """Each line's number in the file (1 is the header)."""
        return self._columns.line_no.to_pylist()  # type: ignore[no-any-return]

    def amounts(self) -> list[Decimal]:
        """Each line's amount (each distinct text made a ``Decimal`` once)."""
        return by_distinct(self._columns.amount, Decimal)

    def posted_times(self) -> list[datetime | None]:
        """Each line's posted time, UTC."""
        return python_times(self._columns.posted)

    def quantities(self) -> list[int | None]:
        """Each line's quantity purchased."""
        return self._columns.quantity.to_pylist()  # type: ignore[no-any-return]

    def total(self) -> Decimal:
        """The sum of the amounts, exact."""
        amounts = self._columns.amount
        if not len(amounts):
            return Decimal(0)
        lengths = pc.binary_length(amounts)  # the texts are ASCII
        point = pc.find_substring(amounts, ".")
        scales = pc.if_else(pc.less(point, 0), 0, pc.subtract(lengths, pc.add(point, 1)))
        scale = pc.max(scales)
        whole = pc.if_else(pc.less(point, 0), lengths, point)  # sign and digits before the point
        # every amount is brought to the finest scale before it is added, and the sum may grow
        digits = pc.max(whole).as_py() + scale.as_py() + len(str(len(amounts)))
        if digits <= _INT64_DIGITS:  # as whole units of the finest scale, added in int64
            try:
                units = pc.replace_substring(amounts, ".", "").cast(pa.int64())
            except pa.ArrowInvalid:  # an exponent ("1E+3", as Decimal writes some): below
                pass
            else:
                up = pc.power(10, pc.subtract(scale, scales).cast(pa.int64()))
                added = pc.sum(pc.multiply(units, up)).as_py()
                return Decimal(added).scaleb(-scale.as_py())
        if digits <= _MAX_DIGITS:
            try:
                typed = amounts.cast(pa.decimal128(_MAX_DIGITS, scale.as_py()))
            except pa.ArrowInvalid:
                pass
            else:
                return pc.sum(typed).as_py()  # type: ignore[no-any-return]
        counts = by_value(amounts, Decimal).counts
        with localcontext(prec=MAX_PREC):  # exact, as in C: no rounding to 28 digits
            return sum((amount * count for amount, count in counts), Decimal(0))


def _text_field(name: str) -> int:
    try:
        return TEXT_FIELDS.index(name.strip().lower())
    except ValueError:
        raise KeyError(f"no text column {name!r}: one of {', '.join(TEXT_FIELDS)}") from None


def _rows(columns: LineColumns) -> list[SettlementLine]:
    """The rows of (a chunk of) the columns."""
    with collector_paused():
        fields = (
            columns.line_no.to_pylist(),
            *python_strings(columns.texts, len(columns)),
            by_distinct(columns.amount, Decimal),
            python_times(columns.posted),
            columns.quantity.to_pylist(),
        )
        return list(map(_new, repeat(SettlementLine), zip(*fields, strict=True)))


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many rows are built.

    Rows hold only strings, numbers and datetimes (no cycles), but every row is a tracked object
    and the collector would walk the growing list again and again: building gets 3x slower.
    The rows outlive the pause, so at the end they go straight to the oldest generation
    (``freeze`` then ``unfreeze``) rather than being walked once more by the first young
    collection after it; they are collected like any other long-lived object.
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
