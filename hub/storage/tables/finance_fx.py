"""Finance tables of the exports (migration ``0032`` creates them).

Rules:
- ``fx_amounts``: every refund and settlement amount of an entity, also in the entity's base
  currency, with the rate (``1 currency = rate base``), its day and its source; one row per
  ``(kind, ref)``: ``refund`` rows are ``store_id/refund_id``, ``settlement`` rows
  ``account/report_id/line_no``; ``base_amount`` NULL: no rate was known yet (the next pass
  tries again); ``detail`` holds a settlement line's transaction type; filled by
  ``hub.finance.fx_amounts_store.convert_pending``;
- ``finance_entities``: the versioned entities document (``hub.finance.entities``),
  append-only, the highest version active.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, String, Table

from hub.storage.tables.core import document_table, metadata
from hub.storage.types import Amount, UtcDateTime

fx_amounts = Table(
    "fx_amounts",
    metadata,
    Column("kind", String(12), primary_key=True),
    Column("ref", String(200), primary_key=True),
    Column("entity", String(40), nullable=False),
    Column("day", Date, nullable=False),
    Column("order_id", String(64)),
    Column("marketplace_id", String(20)),  # NULL: a store's own refund
    Column("detail", String(60), nullable=False),
    Column("amount", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("base_currency", String(3), nullable=False),
    Column("base_amount", Amount),
    Column("rate", String(30)),
    Column("rate_day", Date),
    Column("rate_source", String(300)),
    Column("converted_at", UtcDateTime, nullable=False),
    Index("ix_fx_amounts_entity", "entity", "kind", "day"),
    Index("ix_fx_amounts_order", "order_id"),
)

finance_entities = document_table("finance_entities")
