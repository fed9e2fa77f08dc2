"""The hub's stock view: ``stock_levels`` (per store, SKU and state, as of the store's latest
move) and ``stock_moves`` (every move the stores reported).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
ID = sa.String(length=64)
NODE = sa.String(length=40)
STATE = sa.String(length=20)


def upgrade() -> None:
    op.create_table(
        "stock_levels",
        sa.Column("store_id", NODE, nullable=False),
        sa.Column("sku", ID, nullable=False),
        sa.Column("state", STATE, nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("reported_quantity", sa.BigInteger(), nullable=True),
        sa.Column("as_of", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("store_id", "sku", "state", name=op.f("pk_stock_levels")),
    )
    op.create_index("ix_stock_levels_sku", "stock_levels", ["sku"])
    op.create_table(
        "stock_moves",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("store_id", NODE, nullable=False),
        sa.Column("node_id", NODE, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("move_id", ID, nullable=False),
        sa.Column("sku", ID, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("from_state", STATE, nullable=True),
        sa.Column("to_state", STATE, nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("pos_transaction_id", ID, nullable=True),
        sa.Column("return_id", ID, nullable=True),
        sa.Column("count_id", ID, nullable=True),
        sa.Column("transfer_id", ID, nullable=True),
        sa.Column("staff_id", ID, nullable=True),
        sa.Column("at", UTC_TS, nullable=False),
        sa.Column("from_after", sa.BigInteger(), nullable=True),
        sa.Column("to_after", sa.BigInteger(), nullable=True),
        sa.Column("store_from_after", sa.BigInteger(), nullable=True),
        sa.Column("store_to_after", sa.BigInteger(), nullable=True),
        sa.Column("applied_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_moves")),
        sa.UniqueConstraint("store_id", "move_id", name="uq_stock_moves_store_move"),
        sa.UniqueConstraint("store_id", "node_id", "seq", name="uq_stock_moves_node_seq"),
    )
    op.create_index("ix_stock_moves_sku_at", "stock_moves", ["sku", "at"])
    op.create_index("ix_stock_moves_store_at", "stock_moves", ["store_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_stock_moves_store_at", table_name="stock_moves")
    op.drop_index("ix_stock_moves_sku_at", table_name="stock_moves")
    op.drop_table("stock_moves")
    op.drop_index("ix_stock_levels_sku", table_name="stock_levels")
    op.drop_table("stock_levels")
