"""Amazon supply sources: stores published as supply sources (``amazon_supply_sources``) and a
quantity per supply source on listing changes (``amazon_listing_changes.sources``).

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "amazon_supply_sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("supply_source_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("archived_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account", "supply_source_id", name="uq_amazon_supply_sources_id"),
    )
    op.create_index("ix_amazon_supply_sources_store", "amazon_supply_sources",
                    ["account", "store_id", "status"])
    with op.batch_alter_table("amazon_listing_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sources", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("amazon_listing_changes", schema=None) as batch_op:
        batch_op.drop_column("sources")
    op.drop_index("ix_amazon_supply_sources_store", table_name="amazon_supply_sources")
    op.drop_table("amazon_supply_sources")
