"""The product catalogue (migration ``0024``, ``hub.inventory.catalogue``): what the hub knows of
each SKU beyond its stock.

Rules: one row per SKU; ``category`` (lower case, as the allocation rules name categories) is
required, the rest optional; ``unit_cost`` is an exact ``Amount`` with its ``currency`` (both or
neither); ``updated_at``/``updated_by`` say who changed the row last (the audit trail keeps the
history).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from hub.storage.tables.core import ID, metadata
from hub.storage.types import Amount, UtcDateTime

catalogue_items = Table(
    "catalogue_items",
    metadata,
    Column("sku", ID, primary_key=True),
    Column("category", String(40), nullable=False),
    Column("title", String(200)),
    Column("brand", String(100)),
    Column("unit_cost", Amount),
    Column("currency", String(3)),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Index("ix_catalogue_items_category", "category"),
)
