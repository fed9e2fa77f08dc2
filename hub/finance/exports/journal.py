"""The transaction journal of an entity and a period as CSV and XLSX. Pure writers.

Rules:
- one row per fact (``facts.Fact``) in ``COLUMNS`` order; amounts as exact decimal text with a
  point in CSV, and as numbers in XLSX (openpyxl write-only mode, so memory stays flat);
- CSV is UTF-8 with CRLF line ends and a header row; a fact without a rate has its base columns
  empty and ``no rate`` as its rate source; a fact without an amount (a POS sale: the hub holds
  quantities only) has every money column empty and ``no amount`` as its rate source;
- ``country_basis`` says where ``country`` comes from (``facts.Basis``): ``ship_to``,
  ``marketplace`` (assumed, no destination known) or ``store``;
- no personal data: the facts carry none (``hub.finance.exports``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import IO, Any

from hub.finance.exports.facts import Fact

COLUMNS = (
    "entity",
    "kind",
    "day",
    "document",
    "line",
    "order_id",
    "source",
    "country",
    "sku",
    "quantity",
    "gross",
    "net",
    "vat",
    "vat_rate",
    "currency",
    "oss",
    "base_currency",
    "base_gross",
    "base_net",
    "base_vat",
    "rate",
    "rate_day",
    "rate_source",
    "country_basis",
)
NO_RATE = "no rate"
NO_AMOUNT = "no amount"


def row(entity: str, fact: Fact) -> list[Any]:
    """One fact in ``COLUMNS`` order (Decimals, dates and text)."""
    net, vat = fact.net_vat or ("", "")
    base = fact.base
    split = fact.base_net_vat
    return [
        entity,
        fact.kind,
        fact.day,
        fact.document,
        fact.line,
        fact.order_id or "",
        fact.source,
        fact.country,
        fact.sku,
        fact.quantity,
        fact.gross if fact.gross is not None else "",
        net,
        vat,
        fact.vat_rate if fact.vat_rate is not None else "",
        fact.currency,
        "yes" if fact.oss else "no",
        base.base_currency if base else "",
        base.base_amount if base else "",
        split[0] if split else "",
        split[1] if split else "",
        base.rate if base else "",
        base.rate_day if base else "",
        base.source if base else (NO_RATE if fact.gross is not None else NO_AMOUNT),
        fact.basis,
    ]


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def write_csv(entity: str, facts: Iterable[Fact]) -> bytes:
    """The journal as UTF-8 CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows([_text(v) for v in row(entity, f)] for f in facts)
    return out.getvalue().encode("utf-8")


def write_xlsx(entity: str, facts: Iterable[Fact], target: IO[bytes]) -> None:
    """The journal as an XLSX workbook (one sheet, ``journal``) written to ``target``."""
    from openpyxl import Workbook  # type: ignore[import-untyped]  # ~0.15 s: only when asked

    book = Workbook(write_only=True)
    sheet = book.create_sheet("journal")
    sheet.append(list(COLUMNS))
    for fact in facts:
        # Decimal cells become numbers; openpyxl writes them exactly as their text
        sheet.append(row(entity, fact))
    book.save(target)
