"""Settlement reconciliation (migration ``0031``, ``hub.finance.settlements``).

Rules:
- ``settlement_status``: one row per Amazon ``settlement-id`` once it has been reconciled (a
  settlement with no row is ``open``); the last run's counts and deposit gap, in the
  settlement's currency; changed only by ``hub.finance.settlements.store``, audited;
- ``settlement_resolutions``: who resolved which difference of a settlement and why, one row per
  (settlement, difference key); never deleted;
- ``settlement_accounts``: the versioned YAML account mapping, append-only, highest active
  (``hub.storage.documents``).
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from hub.storage.tables.core import document_table, metadata
from hub.storage.types import Amount, UtcDateTime

settlement_status = Table(
    "settlement_status",
    metadata,
    Column("settlement_id", String(64), primary_key=True),
    Column("account", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(12), nullable=False),
    Column("differences", Integer, nullable=False),  # all differences of the last run
    Column("unresolved", Integer, nullable=False),
    Column("gap", Amount, nullable=False),  # deposit minus the lines
    Column("reconciled_by", String(200), nullable=False),
    Column("reconciled_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

settlement_resolutions = Table(
    "settlement_resolutions",
    metadata,
    Column("settlement_id", String(64), primary_key=True),
    Column("difference_key", String(300), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("note", Text, nullable=False),
    Column("resolved_by", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("resolved_at", UtcDateTime, nullable=False),
)

settlement_accounts = document_table("settlement_accounts")
