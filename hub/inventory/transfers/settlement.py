"""The monthly internal settlement of transfers: who owes whom, between stores and regions.

Rules:
- a month holds the settlement lines of the transfers received in it (UTC ``YYYY-MM``), each
  priced once when its receipt was complete (``follow``); the receiving store owes the sending
  store the line's amount, in the settlement currency the line was priced in;
- ``between_stores`` sums per (sending store, receiving store, currency), ``between_regions`` per
  (sending region, receiving region, currency; a store without a region is ``-``), ``stores``
  is each store's net position (receivable as sender minus payable as receiver), which adds up
  to zero per currency; unpriced lines are counted apart (``unpriced``) and in no sum;
- ``csv_text`` exports the month's lines, one per received transfer and SKU, amounts as exact
  decimal text.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from hub.errors import InputError
from hub.storage.money import quantized
from hub.storage.tables.transfers import transfer_settlement_lines

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
NO_REGION = "-"
CSV_COLUMNS = ("month", "transfer_id", "sku", "category", "from_store", "from_region",
               "to_store", "to_region", "quantity", "difference", "unit_price", "amount",
               "currency", "rule", "rules_version", "fx_rate", "fx_day", "fx_source",
               "received_at", "why")


def check_month(month: str) -> str:
    """``month`` if written ``YYYY-MM``; InputError naming ``month`` otherwise."""
    if not MONTH.match(month):
        raise InputError(f"{month!r} is not a month: write YYYY-MM, e.g. 2026-11", field="month")
    return month


def lines(conn: Connection, month: str) -> list[dict[str, Any]]:
    """The month's settlement lines, by receipt time, transfer and SKU."""
    c = transfer_settlement_lines.c
    rows = conn.execute(select(transfer_settlement_lines).where(c.month == check_month(month))
                        .order_by(c.received_at, c.transfer_id, c.sku))
    found = []
    for row in rows:
        line = dict(row._mapping)
        for name in ("unit_price", "amount"):
            if line[name] is not None:
                line[name] = quantized(line[name], line["currency"])
        found.append(line)
    return found


def summary(conn: Connection, month: str) -> dict[str, Any]:
    """The month's settlement: between stores, between regions, each store's net, the lines."""
    held = lines(conn, month)
    pairs: dict[tuple[str, str, str], list[Any]] = defaultdict(lambda: [0, Decimal(0), 0])
    regions: dict[tuple[str, str, str], list[Any]] = defaultdict(lambda: [0, Decimal(0), 0])
    net: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    unpriced = []
    for line in held:
        if line["amount"] is None:
            unpriced.append(line)
            continue
        cur, amount = line["currency"], line["amount"]
        for book, key in ((pairs, (line["from_store"], line["to_store"], cur)),
                          (regions, (line["from_region"] or NO_REGION,
                                     line["to_region"] or NO_REGION, cur))):
            book[key][0] += line["quantity"]
            book[key][1] += amount
            book[key][2] += 1
        net[(line["from_store"], cur)] += amount
        net[(line["to_store"], cur)] -= amount
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (_, _, cur), (_, amount, _) in pairs.items():
        totals[cur] += amount
    return {
        "month": month,
        "between_stores": [{"from_store": f, "to_store": t, "currency": cur, "units": u,
                            "amount": a, "lines": n}
                           for (f, t, cur), (u, a, n) in sorted(pairs.items())],
        "between_regions": [{"from_region": f, "to_region": t, "currency": cur, "units": u,
                             "amount": a, "lines": n}
                            for (f, t, cur), (u, a, n) in sorted(regions.items())],
        "stores": [{"store_id": s, "currency": cur, "net": a}
                   for (s, cur), a in sorted(net.items())],
        "totals": [{"currency": cur, "amount": a} for cur, a in sorted(totals.items())],
        "unpriced": len(unpriced),
        "lines": held,
    }


def csv_text(conn: Connection, month: str) -> str:
    """The month's settlement lines as CSV (header first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines(conn, month):
        fx = line["fx"] or {}
        values = {**line, "fx_rate": fx.get("rate"), "fx_day": fx.get("day"),
                  "fx_source": fx.get("source"),
                  "received_at": line["received_at"].strftime("%Y-%m-%dT%H:%M:%SZ")}
        writer.writerow(["" if values[c] is None else _cell(values[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    # a cell that a spreadsheet would run as a formula is written as text
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True
