"""A reconciled settlement as plain tables (pure): the difference table and the accounting
summary, as the desk's CSV downloads and the monthly archive both write them.

Rules: amounts and times are given as values (the writer formats them); the difference table has
ACORN's and the settlement's components side by side, then who resolved it and why; the summary
lists each booking, then each month's part of the deposit on the clearing account.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from hub.finance.settlements.accounting import Summary
from hub.finance.settlements.model import COMPONENTS, OTHER, Difference

PARTS = (*COMPONENTS, OTHER)
Cell = str | int | Decimal | datetime | None
DIFFERENCE_HEADER = ("kind", "order_id", "refund", "sku", "adjustment_id",
                     *(f"acorn_{p}" for p in PARTS), *(f"settlement_{p}" for p in PARTS),
                     "lines", "note", "resolved_by", "resolution")
SUMMARY_HEADER = ("month", "transaction_type", "amount_type", "account", "tax_rate", "amount",
                  "lines")


def difference_rows(differences: list[Difference],
                    resolved: Mapping[str, Mapping[str, Any]]) -> list[list[Cell]]:
    """One row per difference (``resolved``: the resolution rows by difference key)."""
    rows: list[list[Cell]] = []
    for d in differences:
        done = resolved.get(d.key) or {}
        rows.append([d.kind.value, d.order_id, d.refund, d.sku, d.adjustment_id,
                     *(d.acorn.get(p) for p in PARTS), *(d.settlement.get(p) for p in PARTS),
                     " ".join(map(str, d.lines)), d.note, done.get("resolved_by", ""),
                     done.get("note", "")])
    return rows


def summary_rows(summary: Summary) -> list[list[Cell]]:
    """The bookings, then each month's part of the deposit."""
    rows: list[list[Cell]] = [
        [b.month, b.transaction_type, b.amount_type, b.account, b.tax_rate, b.amount, b.lines]
        for b in summary.bookings]
    rows += [[p.month, "deposit part", "", summary.clearing_account, None, p.amount, None]
             for p in summary.parts]
    return rows
