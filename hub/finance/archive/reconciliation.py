"""The month's settlement reconciliation as archived: per settlement deposited in the month
(counted once, whichever report carries it), its status line, its difference table and its
accounting summary.

Rules: ``status.csv`` holds one row per settlement (status as last recorded, the differences
and the deposit check as reconciled now); ``<settlement>-differences.csv`` and
``<settlement>-summary.csv`` are the desk's CSV tables (``hub.finance.settlements.tables``); rows
are in settlement id order, so the same facts give the same bytes.
"""

from __future__ import annotations

from sqlalchemy import Connection

from hub.finance.archive.csvfile import Cell, csv_bytes
from hub.finance.archive.manifest import ArchiveFile
from hub.finance.archive.months import bounds
from hub.finance.archive.settlements import UNSAFE
from hub.finance.settlements import store, tables

STATUS_HEADER = ("settlement_id", "account", "currency", "deposit_at", "status", "differences",
                 "unresolved", "deposit", "lines_total", "gap", "adds_up", "flags")


def reconciliation(conn: Connection, month: str) -> list[ArchiveFile]:
    """The reconciliation section of ``month``."""
    start, end = bounds(month)
    def in_month(item: store.Listed) -> bool:
        when = item.settlement.report.deposit_at or item.settlement.report.end
        return when is not None and start <= when < end

    listed = sorted(filter(in_month, store.listing(conn)),
                    key=lambda item: item.settlement.settlement_id)
    status: list[list[Cell]] = []
    files: list[ArchiveFile] = []
    for item in listed:
        s = item.settlement
        result, lines = store.reconcile(conn, s.settlement_id)
        d = result.deposit
        status.append([s.settlement_id, s.report.account, s.report.currency,
                       s.report.deposit_at, item.status.value, len(result.differences),
                       item.unresolved, d.deposit, d.lines_total, d.gap, d.adds_up,
                       "; ".join(d.flags)])
        stem = UNSAFE.sub("_", s.settlement_id)[:80]
        done = store.resolutions(conn, s.settlement_id)
        files.append(ArchiveFile(f"{stem}-differences.csv", csv_bytes(
            tables.DIFFERENCE_HEADER, tables.difference_rows(list(result.differences), done))))
        files.append(ArchiveFile(f"{stem}-summary.csv", csv_bytes(
            tables.SUMMARY_HEADER, tables.summary_rows(store.summary(conn, s, lines)))))
    return [ArchiveFile("status.csv", csv_bytes(STATUS_HEADER, status)), *files] if listed else []
