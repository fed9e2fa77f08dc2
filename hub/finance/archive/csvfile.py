"""CSV bytes for archived tables: one format for every section.

Rules: UTF-8, comma-separated, CRLF line ends, a header row; decimals as exact text (``12.30``),
times as UTC ISO 8601 with ``Z``, None as an empty cell; rows are written in the order given (the
producers sort them), so the same facts give the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from hub.storage.money import quantized
from protocol import format_utc

Cell = str | int | bool | Decimal | datetime | None


def cell(value: Cell) -> str:
    """One value as archived text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return format_utc(value)
    return str(value)


def money(amount: Decimal | None, currency: str | None) -> Decimal | None:
    """``amount`` with its currency's minor units (a database may pad zeros)."""
    return None if amount is None or not currency else quantized(amount, currency)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """The table as CSV bytes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8")
