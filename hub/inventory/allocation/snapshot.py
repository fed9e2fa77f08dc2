"""Stock snapshots for simulations, from the shapes people send: JSON lines (the API) and CSV
(the CLI). The hub's own stock view will feed ``Stock`` directly once it exists.

Rules: bounded (at most ``MAX_LINES`` lines); a bad row is an ``InputError`` naming its row and
column (``stock[3].on_hand``, ``line 4: on_hand``), never a traceback; a (sku, store) pair given
twice is refused rather than silently summed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from hub.errors import InputError
from hub.inventory.allocation.values import Sales, Stock, StockLine

MAX_LINES = 200_000
Whole = Field(ge=-10_000_000, le=10_000_000, strict=True)


class StockLineIn(BaseModel):
    """One SKU at one store, as a simulation is sent it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: str = Field(min_length=1, max_length=64)
    store: str = Field(min_length=1, max_length=40)
    on_hand: int = Whole
    reserved: int = Field(0, ge=0, le=10_000_000, strict=True)
    holds: int = Field(0, ge=0, le=10_000_000, strict=True)
    category: str | None = Field(None, pattern=r"^[a-z0-9_]{1,40}$")
    sold: int = Field(0, ge=0, le=10_000_000, strict=True)  # units sold in the sales window


def stock_of(lines: Iterable[StockLineIn], where: str = "stock") -> tuple[Stock, Sales]:
    """A ``Stock`` and its ``Sales`` from validated lines."""
    held: list[StockLine] = []
    categories: dict[str, str] = {}
    sold: dict[tuple[str, str], int] = {}
    seen: set[tuple[str, str]] = set()
    for index, line in enumerate(lines):
        key = (line.sku, line.store)
        if key in seen:
            raise InputError(f"{line.sku} at {line.store} is given twice",
                             field=f"{where}[{index}]")
        seen.add(key)
        held.append(StockLine(line.sku, line.store, line.on_hand, line.reserved, line.holds))
        if line.category:
            categories[line.sku] = line.category
        if line.sold:
            sold[key] = line.sold
    return Stock(held, categories), Sales(sold)


def read_csv(text: str) -> tuple[Stock, Sales]:
    """A snapshot from CSV with a header: sku, store, on_hand[, reserved, holds, category,
    sold]."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"sku", "store", "on_hand"} - set(reader.fieldnames or ())
    if missing:
        raise InputError(f"the CSV header lacks {', '.join(sorted(missing))}", field="stock")
    lines: list[StockLineIn] = []
    for row in reader:
        if len(lines) >= MAX_LINES:
            raise InputError(f"at most {MAX_LINES} stock lines", field="stock")
        lines.append(_row(row, reader.line_num))
    return stock_of(lines)


def _row(row: dict[str, str | None], line_num: int) -> StockLineIn:
    data: dict[str, object] = {}
    for name, value in row.items():
        if name is None or value is None or value == "":
            continue
        if name in {"on_hand", "reserved", "holds", "sold"}:
            try:
                data[name] = int(value)
            except ValueError:
                raise InputError(f"line {line_num}: {name} {value!r} is not a whole number",
                                 field="stock") from None
        else:
            data[name] = value
    try:
        return StockLineIn.model_validate(data)
    except ValueError as err:
        raise InputError(f"line {line_num}: {_first(err)}", field="stock") from None


def _first(err: ValueError) -> str:
    errors = getattr(err, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(err)
