"""The consistency check: ``stock_differences`` (per store node, SKU and state, where a store's
snapshot of its stock disagreed with the hub's figures), and how each was resolved.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
ID = sa.String(length=64)
NODE = sa.String(length=40)


def upgrade() -> None:
    op.create_table(
        "stock_differences",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("store_id", NODE, nullable=False),
        sa.Column("node_id", NODE, nullable=False),
        sa.Column("sku", ID, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("store_quantity", sa.BigInteger(), nullable=False),
        sa.Column("hub_quantity", sa.BigInteger(), nullable=False),
        sa.Column("difference", sa.BigInteger(), nullable=False),
        sa.Column("snapshot_id", ID, nullable=False),
        sa.Column("as_of_seq", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("found_at", UTC_TS, nullable=False),
        sa.Column("checked_at", UTC_TS, nullable=False),
        sa.Column("resolved_at", UTC_TS, nullable=True),
        sa.Column("resolved_by", ID, nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_differences")),
    )
    op.create_index("ix_stock_differences_open", "stock_differences", ["status", "store_id"])
    op.create_index("ix_stock_differences_key", "stock_differences",
                    ["store_id", "node_id", "sku", "state"])


def downgrade() -> None:
    op.drop_index("ix_stock_differences_key", table_name="stock_differences")
    op.drop_index("ix_stock_differences_open", table_name="stock_differences")
    op.drop_table("stock_differences")
