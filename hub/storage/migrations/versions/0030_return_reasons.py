"""Return reasons: one reason and sub-reason per return line (``return_reasons``) and the
versioned text rules (``reason_rules``). Existing returns are classified by the first pass
(``hub.finance.reasons.store.classify_pending``), which ``acorn-hub serve`` runs at start.

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
ID = sa.String(length=64)
NODE = sa.String(length=40)


def upgrade() -> None:
    op.create_table(
        "return_reasons",
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("line_key", sa.String(length=200), nullable=False),
        sa.Column("store_id", NODE, nullable=True),
        sa.Column("return_id", ID, nullable=True),
        sa.Column("line_no", sa.Integer(), nullable=True),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.Column("amazon_ref", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=True),
        sa.Column("order_id", ID, nullable=True),
        sa.Column("sku", ID, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("occurred_at", UTC_TS, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("raw_reason", sa.String(length=500), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("sub_reason", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("rule", sa.Integer(), nullable=True),
        sa.Column("rules_version", sa.Integer(), nullable=True),
        sa.Column("classified_at", UTC_TS, nullable=False),
        sa.Column("counted", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.PrimaryKeyConstraint("source", "line_key", name=op.f("pk_return_reasons")),
    )
    op.create_index("ix_return_reasons_month", "return_reasons", ["month", "reason"])
    op.create_index("ix_return_reasons_reason", "return_reasons", ["reason", "sub_reason"])
    op.create_index("ix_return_reasons_sku", "return_reasons", ["sku"])
    op.create_index("ix_return_reasons_store", "return_reasons", ["store_id", "return_id"])
    op.create_index("ix_return_reasons_method", "return_reasons", ["method"])
    op.create_index("ix_return_reasons_order", "return_reasons", ["order_id", "sku"])
    op.create_table(
        "reason_rules",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_reason_rules")),
    )


def downgrade() -> None:
    op.drop_table("reason_rules")
    for name in ("order", "method", "store", "sku", "reason", "month"):
        op.drop_index(f"ix_return_reasons_{name}", table_name="return_reasons")
    op.drop_table("return_reasons")
