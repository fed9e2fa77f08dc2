"""The month's Amazon settlement reports as stored: one CSV per report whose deposit (or, with no
deposit date, whose end) falls in the month.

Rules: the first row after the header is the report's summary (``line_no`` 0: settlement id,
dates, total, currency), then its lines in file order, every column as stored; a file is named
``<account>-<settlement id>-<report id>.csv`` (other characters than letters, digits, ``.``,
``_`` and ``-`` become ``_``).
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, and_, func, select

from hub.finance.archive.csvfile import Cell, csv_bytes, money
from hub.finance.archive.manifest import ArchiveFile
from hub.finance.archive.months import bounds
from hub.storage.tables.amazon import amazon_settlement_lines, amazon_settlement_reports

COLUMNS = (
    "line_no",
    "settlement_id",
    "transaction_type",
    "order_id",
    "adjustment_id",
    "merchant_adjustment_item_id",
    "amount_type",
    "amount_description",
    "amount",
    "currency",
    "posted_at",
    "sku",
    "quantity",
    "order_item_code",
    "start_at",
    "end_at",
    "deposit_at",
    "marketplace_id",
)
UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _name(*parts: str) -> str:
    return UNSAFE.sub("_", "-".join(parts))[:120] + ".csv"


def settlements(conn: Connection, month: str) -> list[ArchiveFile]:
    """The settlement section: each report deposited in ``month``, as stored."""
    start, end = bounds(month)
    s, ln = amazon_settlement_reports.c, amazon_settlement_lines.c
    when = func.coalesce(s.deposit_at, s.end_at)
    reports = conn.execute(
        select(amazon_settlement_reports)
        .where(when >= start, when < end)
        .order_by(s.account, s.settlement_id, s.report_id)
    ).all()
    files = []
    for report in reports:
        summary: list[Cell] = [
            0,
            report.settlement_id,
            "summary",
            None,
            None,
            None,
            None,
            None,
            money(report.total, report.currency),
            report.currency,
            None,
            None,
            None,
            None,
            report.start_at,
            report.end_at,
            report.deposit_at,
            report.marketplace_id,
        ]
        lines = conn.execute(
            select(*(ln[c] for c in COLUMNS[:14]))
            .where(and_(ln.account == report.account, ln.report_id == report.report_id))
            .order_by(ln.line_no)
        ).all()
        rows = [
            summary,
            *(
                [*line[:8], money(line[8], line[9]), *line[9:], None, None, None, None]
                for line in lines
            ),
        ]
        files.append(
            ArchiveFile(
                _name(report.account, report.settlement_id, report.report_id),
                csv_bytes(COLUMNS, rows),
            )
        )
    return files
