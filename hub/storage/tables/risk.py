"""The risk flags table, on the hub's one ``metadata`` (migration ``0005`` creates it).

Rules:
- a flag names its subject by ``kind`` (``order``: an order id; ``customer``: a customer key such
  as ``buyer:<hex>``), says why (``reason``), where it came from (``source``: ``person`` or
  ``amazon``), who raised it and when; clearing it fills ``cleared_at``/``cleared_by``/
  ``clear_reason``; a flag is never deleted;
- ``source_ref`` names what raised an automatic flag (an Amazon claim of one account's order), so
  each is raised once, even after it was cleared; it is NULL for flags raised by people.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from hub.storage.tables.core import metadata
from hub.storage.types import UtcDateTime

risk_flags = Table(
    "risk_flags",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("kind", String(10), nullable=False),
    Column("subject", String(100), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("source", String(10), nullable=False),
    Column("source_ref", String(200), unique=True),
    Column("flagged_by", String(100), nullable=False),
    Column("flagged_at", UtcDateTime, nullable=False),
    Column("cleared_at", UtcDateTime),
    Column("cleared_by", String(100)),
    Column("clear_reason", String(500)),
    Index("ix_risk_flags_subject", "kind", "subject"),
)
