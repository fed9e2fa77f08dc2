"""Tables of store records and allocation rules (migration ``0016``).

Rules:
- ``store_records`` holds one row per described store, keyed by ``store_id`` (the store's
  region, city, currency and **time zone** stay in ``stores``: the record reads and writes
  ``stores.time_zone`` rather than keeping a second copy); coordinates are exact decimal text
  (``52.520008``), opening hours and their exceptions JSON as ``hub.inventory.store_records``
  validates them;
- ``allocation_rules`` is append-only: one row per published version, the highest is active;
- ``allocation_pushes`` (migration ``0020``): per store, the rules version its last published
  store config carried, the config version that carried it first, and when it was first pushed.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, String, Table, Text

from hub.storage.tables.core import NODE, document_table, metadata
from hub.storage.types import UtcDateTime, json_column

store_records = Table(
    "store_records",
    metadata,
    Column("store_id", NODE, primary_key=True),
    Column("street", String(200)),
    Column("postal_code", String(20)),
    Column("city", String(100)),
    Column("country", String(2)),
    Column("latitude", String(16)),
    Column("longitude", String(16)),
    Column("manager_name", String(200)),
    Column("manager_contact", String(200)),
    Column("hours", json_column(), nullable=False),
    Column("exceptions", json_column(), nullable=False),
    Column("ship_from_store", Boolean, nullable=False),
    Column("pickup", Boolean, nullable=False),
    Column("returns", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
)

allocation_rules = document_table("allocation_rules", Column("reason", Text))

allocation_pushes = Table(
    "allocation_pushes",
    metadata,
    Column("store_id", NODE, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("config_version", Integer, nullable=False),
    Column("pushed_at", UtcDateTime, nullable=False),
)
