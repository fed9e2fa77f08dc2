"""The archive's evidence index: every attachment recorded in the month, by id.

Rules: one CSV row per attachment recorded in the month (UTC), sorted by id: its hash, size,
type, kind, source, return and refund, who recorded it and when, its retention and whether it was
purged; notes are left out (they may carry personal data).
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from hub.finance.archive.csvfile import csv_bytes
from hub.finance.archive.manifest import ArchiveFile
from hub.finance.archive.months import bounds
from hub.storage.tables.evidence import evidence_items

COLUMNS = (
    "evidence_id",
    "sha256",
    "size",
    "media_type",
    "kind",
    "source",
    "store_id",
    "return_id",
    "refund_id",
    "recorded_by",
    "recorded_at",
    "purge_after",
    "purged_at",
)


def evidence_index(conn: Connection, month: str) -> list[ArchiveFile]:
    """The evidence section: the index of the month's attachments."""
    start, end = bounds(month)
    c = evidence_items.c
    rows = conn.execute(
        select(*(c[name] for name in COLUMNS))
        .where(c.recorded_at >= start, c.recorded_at < end)
        .order_by(c.evidence_id)
    ).all()
    return [ArchiveFile(f"evidence-index-{month}.csv", csv_bytes(COLUMNS, rows))]
