"""Order routing: published routing rules, routed orders with their packages and every decision,
and an imported postal-code centroid table (``routing_rules``, ``routed_orders``,
``routed_packages``, ``routing_decisions``, ``postal_centroids``).

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
ACCOUNT = sa.String(length=64)
ORDER = sa.String(length=64)
JSON = sa.JSON(none_as_null=True)


def upgrade() -> None:
    op.create_table(
        "routing_rules",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_routing_rules")),
    )
    op.create_table(
        "routed_orders",
        sa.Column("account", ACCOUNT, nullable=False),
        sa.Column("order_id", ORDER, nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("given_back", JSON, nullable=False),
        sa.Column("decision", JSON, nullable=False),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("routed_at", UTC_TS, nullable=False),
        sa.Column("routed_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("account", "order_id", name=op.f("pk_routed_orders")),
    )
    op.create_index("ix_routed_orders_order_id", "routed_orders", ["order_id"])
    op.create_index("ix_routed_orders_status", "routed_orders", ["status"])
    op.create_table(
        "routed_packages",
        sa.Column("account", ACCOUNT, nullable=False),
        sa.Column("order_id", ORDER, nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("ship_date", sa.Date(), nullable=False),
        sa.Column("lines", JSON, nullable=False),
        sa.PrimaryKeyConstraint("account", "order_id", "store_id",
                                name=op.f("pk_routed_packages")),
    )
    op.create_index("ix_routed_packages_load", "routed_packages", ["store_id", "ship_date"])
    op.create_table(
        "routing_decisions",
        sa.Column("account", ACCOUNT, nullable=False),
        sa.Column("order_id", ORDER, nullable=False),
        sa.Column("attempt", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cause", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decision", JSON, nullable=False),
        sa.Column("decided_at", UTC_TS, nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("account", "order_id", "attempt",
                                name=op.f("pk_routing_decisions")),
    )
    op.create_table(
        "postal_centroids",
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("latitude", sa.String(length=16), nullable=False),
        sa.Column("longitude", sa.String(length=16), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("country", "postal_code", name=op.f("pk_postal_centroids")),
    )


def downgrade() -> None:
    op.drop_table("postal_centroids")
    op.drop_table("routing_decisions")
    op.drop_index("ix_routed_packages_load", table_name="routed_packages")
    op.drop_table("routed_packages")
    op.drop_index("ix_routed_orders_status", table_name="routed_orders")
    op.drop_index("ix_routed_orders_order_id", table_name="routed_orders")
    op.drop_table("routed_orders")
    op.drop_table("routing_rules")
