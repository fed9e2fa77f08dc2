"""Indexes for reads that read every row ever stored, as found by a review of the ingest's and
the periodic passes' statements (issue 16):

- ``package_shipments (account, order_id)``: each ``order.shipped`` a store sends looks up its
  order's packages twice in the ingest's transaction (the next package reference, and whether
  the order would be shipped twice); with no index that was a scan of every shipment ever
  recorded (~40 ms each at 300,000);
- ``amazon_orders (account, order_id)`` of the open orders only (``PENDING``, ``UNSHIPPED``,
  ``PARTIALLY_SHIPPED``): routing's inputs (the units open routes hold, the closed tasks of open
  orders, the packages still to send) start from the open orders, a few, instead of every order
  ever synced (no index on ``status``);
- ``routed_packages (ship_date)``: the stores' loads since yesterday, not every package ever
  routed.

Building them reads those tables once.

Revision ID: 0042
Revises: 0041
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('PENDING', 'UNSHIPPED', 'PARTIALLY_SHIPPED')")


def upgrade() -> None:
    op.create_index("ix_package_shipments_order", "package_shipments", ["account", "order_id"])
    op.create_index("ix_amazon_orders_open", "amazon_orders", ["account", "order_id"],
                    postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index("ix_routed_packages_ship_date", "routed_packages", ["ship_date"])


def downgrade() -> None:
    op.drop_index("ix_routed_packages_ship_date", table_name="routed_packages")
    op.drop_index("ix_amazon_orders_open", table_name="amazon_orders")
    op.drop_index("ix_package_shipments_order", table_name="package_shipments")
