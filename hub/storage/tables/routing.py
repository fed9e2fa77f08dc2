"""Tables of order routing (migration ``0025``).

Rules:
- ``routing_rules`` is append-only: one row per published routing rules version, the highest is
  active (as ``allocation_rules``);
- ``routed_orders`` holds one row per Amazon MFN order the hub routed: where it stands now
  (``status``: routed, split, unroutable, manual), the stores that gave it back
  (``given_back``), and the latest decision with every reason; of the destination only the
  country and postal code are kept (what routing needs; no name, street or phone);
- ``routed_packages``: the packages of each order's current route, one row per store, with the
  store's local ship date; a store's daily capacity is counted from these rows;
- ``routing_decisions`` is append-only: every decision ever made for an order (on import, by
  hand, after a give-back), with its cause and who made it;
- ``postal_centroids``: an imported postal-code table (GeoNames format), keyed by country and
  normalised code; when a country has no rows here the package's shipped table answers.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, Integer, String, Table, Text

from hub.storage.tables.core import NODE, document_table, metadata
from hub.storage.types import UtcDateTime, json_column

ACCOUNT = String(64)
ORDER = String(64)

routing_rules = document_table("routing_rules")

routed_orders = Table(
    "routed_orders",
    metadata,
    Column("account", ACCOUNT, primary_key=True),
    Column("order_id", ORDER, primary_key=True),
    Column("marketplace_id", String(20), nullable=False),
    Column("country", String(2)),
    Column("postal_code", String(20)),
    Column("status", String(20), nullable=False),
    Column("given_back", json_column(), nullable=False),
    Column("decision", json_column(), nullable=False),
    Column("rules_version", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("routed_at", UtcDateTime, nullable=False),
    Column("routed_by", String(200), nullable=False),
    Index("ix_routed_orders_order_id", "order_id"),
    Index("ix_routed_orders_status", "status"),
)

routed_packages = Table(
    "routed_packages",
    metadata,
    Column("account", ACCOUNT, primary_key=True),
    Column("order_id", ORDER, primary_key=True),
    Column("store_id", NODE, primary_key=True),
    Column("ship_date", Date, nullable=False),
    Column("lines", json_column(), nullable=False),
    Index("ix_routed_packages_load", "store_id", "ship_date"),
    Index("ix_routed_packages_ship_date", "ship_date"),  # migration 0042: loads since a day
)

routing_decisions = Table(
    "routing_decisions",
    metadata,
    Column("account", ACCOUNT, primary_key=True),
    Column("order_id", ORDER, primary_key=True),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("cause", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("decision", json_column(), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("reason", Text),
)

postal_centroids = Table(
    "postal_centroids",
    metadata,
    Column("country", String(2), primary_key=True),
    Column("postal_code", String(20), primary_key=True),
    Column("latitude", String(16), nullable=False),
    Column("longitude", String(16), nullable=False),
    Column("place", String(200)),
)
