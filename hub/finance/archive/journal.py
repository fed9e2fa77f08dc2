"""The month's returns and refunds journal, from the stored return and refund facts.

Rules: ``returns-YYYY-MM.csv`` has one row per return line received in the month (UTC);
``refunds-YYYY-MM.csv`` one row per refund requested or decided in the month; both sorted by
store and id; no personal data (the customer key is left out); amounts as exact text with their
currency, the base-currency amount beside it when known.
"""

from __future__ import annotations

from sqlalchemy import Connection, and_, or_, select

from hub.finance.archive.csvfile import Cell, csv_bytes, money
from hub.finance.archive.manifest import ArchiveFile
from hub.finance.archive.months import bounds
from hub.storage.tables.core import refunds, return_items, returns

RETURN_COLUMNS = (
    "store_id",
    "return_id",
    "line_no",
    "received_at",
    "channel",
    "marketplace_id",
    "order_id",
    "rma_id",
    "sku",
    "quantity",
    "unit_price",
    "currency",
    "reason",
    "state",
    "grade",
    "disposition",
)
REFUND_COLUMNS = (
    "store_id",
    "refund_id",
    "return_id",
    "origin",
    "channel",
    "marketplace_id",
    "order_id",
    "amount",
    "currency",
    "base_amount",
    "base_currency",
    "state",
    "outcome",
    "requested_at",
    "decided_at",
    "decided_by",
)


def returns_journal(conn: Connection, month: str) -> bytes:
    """The return lines received in ``month`` as CSV."""
    start, end = bounds(month)
    r, i = returns.c, return_items.c
    query = (
        select(
            r.store_id,
            r.return_id,
            i.line_no,
            r.received_at,
            r.channel,
            r.marketplace_id,
            r.order_id,
            r.rma_id,
            i.sku,
            i.quantity,
            i.unit_price,
            i.currency,
            r.reason,
            r.state,
            r.grade,
            r.disposition,
        )
        .select_from(
            returns.join(return_items, and_(i.store_id == r.store_id, i.return_id == r.return_id))
        )
        .where(r.received_at >= start, r.received_at < end)
        .order_by(r.store_id, r.return_id, i.line_no)
    )
    lines: list[list[Cell]] = [list(row) for row in conn.execute(query)]
    for line in lines:
        line[10] = money(line[10], line[11])  # type: ignore[arg-type]
    return csv_bytes(RETURN_COLUMNS, lines)


def refunds_journal(conn: Connection, month: str) -> bytes:
    """The refunds requested or decided in ``month`` as CSV."""
    start, end = bounds(month)
    f = refunds.c
    query = (
        select(*(f[name] for name in REFUND_COLUMNS))
        .where(
            or_(
                and_(f.requested_at >= start, f.requested_at < end),
                and_(f.decided_at >= start, f.decided_at < end),
            )
        )
        .order_by(f.store_id, f.refund_id)
    )
    rows: list[list[Cell]] = [list(row) for row in conn.execute(query)]
    for row in rows:
        row[7] = money(row[7], row[8])  # type: ignore[arg-type]
        row[9] = money(row[9], row[10])  # type: ignore[arg-type]
    return csv_bytes(REFUND_COLUMNS, rows)


def journal(conn: Connection, month: str) -> list[ArchiveFile]:
    """The journal section: returns and refunds of the month."""
    return [
        ArchiveFile(f"returns-{month}.csv", returns_journal(conn, month)),
        ArchiveFile(f"refunds-{month}.csv", refunds_journal(conn, month)),
    ]
