"""Evidence attached to returns and refunds (migration ``0034``, ``hub.finance.evidence``).

Rules:
- the bytes live on disk, content-addressed (``<evidence dir>/<sha[:2]>/<sha>``); a row here is
  one attachment of those bytes to a store's return (and its refund, when one is named);
- ``evidence_id`` is chosen by whoever recorded it (the counter's own id, or a new one at the
  desk), so a repeated upload of the same attachment is one row;
- ``purge_after`` is ``recorded_at`` plus the retention period; the purge pass sets
  ``purged_at`` and removes the bytes no unpurged row still needs; rows are never deleted.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table, text

from hub.storage.tables.core import ID, NODE, metadata
from hub.storage.types import UtcDateTime

evidence_items = Table(
    "evidence_items",
    metadata,
    Column("evidence_id", String(64), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(60), nullable=False),
    Column("kind", String(20), nullable=False),  # photo | document | message
    Column("source", String(10), nullable=False),  # counter | desk
    Column("store_id", NODE, nullable=False),
    Column("return_id", ID, nullable=False),
    Column("refund_id", ID),
    Column("note", String(500), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("purge_after", UtcDateTime, nullable=False),
    Column("purged_at", UtcDateTime),
    Index("ix_evidence_items_return", "store_id", "return_id"),
    Index("ix_evidence_items_sha256", "sha256"),
    Index("ix_evidence_items_recorded", "recorded_at"),
    # migration 0045: the daily purge finds what is due among the evidence not yet purged
    Index("ix_evidence_items_due", "purge_after", postgresql_where=text("purged_at IS NULL"),
          sqlite_where=text("purged_at IS NULL")),
)
