"""FX with sources and the entities of the exports: every refund and settlement amount also in
its entity's base currency (``fx_amounts``, filled by ``hub.finance.fx_amounts_store``) and the
versioned entities document (``finance_entities``).

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
AMOUNT = hub.storage.types.Amount(precision=19, scale=4)


def upgrade() -> None:
    op.create_table(
        "fx_amounts",
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("marketplace_id", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.String(length=60), nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("base_amount", AMOUNT, nullable=True),
        sa.Column("rate", sa.String(length=30), nullable=True),
        sa.Column("rate_day", sa.Date(), nullable=True),
        sa.Column("rate_source", sa.String(length=300), nullable=True),
        sa.Column("converted_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("kind", "ref", name=op.f("pk_fx_amounts")),
    )
    op.create_index("ix_fx_amounts_entity", "fx_amounts", ["entity", "kind", "day"])
    op.create_index("ix_fx_amounts_order", "fx_amounts", ["order_id"])
    op.create_table(
        "finance_entities",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_finance_entities")),
    )


def downgrade() -> None:
    op.drop_table("finance_entities")
    op.drop_index("ix_fx_amounts_order", table_name="fx_amounts")
    op.drop_index("ix_fx_amounts_entity", table_name="fx_amounts")
    op.drop_table("fx_amounts")
