"""Transfers between stores: transfer orders and their lines, the store moves counted for them,
the versioned transfer price rules and the priced settlement lines.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
AMOUNT = hub.storage.types.Amount(precision=19, scale=4)
JSON = sa.JSON(none_as_null=True)
ID = sa.String(length=64)
NODE = sa.String(length=40)


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("transfer_id", ID, nullable=False),
        sa.Column("from_store", NODE, nullable=False),
        sa.Column("to_store", NODE, nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("send_node", NODE, nullable=False),
        sa.Column("receive_node", NODE, nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", UTC_TS, nullable=False),
        sa.Column("shipped_at", UTC_TS, nullable=True),
        sa.Column("received_at", UTC_TS, nullable=True),
        sa.Column("delivered_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("transfer_id", name=op.f("pk_transfers")),
    )
    op.create_index("ix_transfers_status", "transfers", ["status"])
    op.create_index("ix_transfers_received_at", "transfers", ["received_at"])
    op.create_table(
        "transfer_lines",
        sa.Column("transfer_id", ID, nullable=False),
        sa.Column("sku", ID, nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in (
            "requested", "shipped", "announced", "received", "lost", "surplus", "delivered")],
        sa.PrimaryKeyConstraint("transfer_id", "sku", name=op.f("pk_transfer_lines")),
    )
    op.create_table(
        "transfer_moves",
        sa.Column("store_id", NODE, nullable=False),
        sa.Column("move_id", ID, nullable=False),
        sa.Column("transfer_id", ID, nullable=False),
        sa.Column("sku", ID, nullable=False),
        sa.Column("counts_as", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("store_id", "move_id", name=op.f("pk_transfer_moves")),
    )
    op.create_index("ix_transfer_moves_transfer", "transfer_moves", ["transfer_id"])
    op.create_table(
        "transfer_price_rules",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_transfer_price_rules")),
    )
    op.create_table(
        "transfer_settlement_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("transfer_id", ID, nullable=False),
        sa.Column("sku", ID, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("from_store", NODE, nullable=False),
        sa.Column("to_store", NODE, nullable=False),
        sa.Column("from_region", sa.String(length=40), nullable=True),
        sa.Column("to_region", sa.String(length=40), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("difference", sa.Integer(), nullable=False),
        sa.Column("unit_price", AMOUNT, nullable=True),
        sa.Column("amount", AMOUNT, nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("why", sa.String(length=1000), nullable=False),
        sa.Column("fx", JSON, nullable=True),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("received_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_settlement_lines")),
        sa.UniqueConstraint("transfer_id", "sku", name="uq_transfer_settlement_lines_line"),
    )
    op.create_index("ix_transfer_settlement_lines_month", "transfer_settlement_lines", ["month"])


def downgrade() -> None:
    op.drop_index("ix_transfer_settlement_lines_month", table_name="transfer_settlement_lines")
    op.drop_table("transfer_settlement_lines")
    op.drop_table("transfer_price_rules")
    op.drop_index("ix_transfer_moves_transfer", table_name="transfer_moves")
    op.drop_table("transfer_moves")
    op.drop_table("transfer_lines")
    op.drop_index("ix_transfers_received_at", table_name="transfers")
    op.drop_index("ix_transfers_status", table_name="transfers")
    op.drop_table("transfers")
