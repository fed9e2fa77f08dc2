"""The product catalogue: ``catalogue_items`` (SKU → category, title, brand, unit cost), which
gives the allocation rules' category entries something to match.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "catalogue_items",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("brand", sa.String(length=100), nullable=True),
        sa.Column("unit_cost", hub.storage.types.Amount(precision=19, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_catalogue_items")),
    )
    op.create_index("ix_catalogue_items_category", "catalogue_items", ["category"])


def downgrade() -> None:
    op.drop_index("ix_catalogue_items_category", table_name="catalogue_items")
    op.drop_table("catalogue_items")
