"""Store records (address, coordinates, manager, opening hours, capabilities) and published
allocation rules versions (``store_records``, ``allocation_rules``).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "store_records",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("latitude", sa.String(length=16), nullable=True),
        sa.Column("longitude", sa.String(length=16), nullable=True),
        sa.Column("manager_name", sa.String(length=200), nullable=True),
        sa.Column("manager_contact", sa.String(length=200), nullable=True),
        sa.Column("hours", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("exceptions", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("ship_from_store", sa.Boolean(), nullable=False),
        sa.Column("pickup", sa.Boolean(), nullable=False),
        sa.Column("returns", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_store_records")),
    )
    op.create_table(
        "allocation_rules",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", UTC_TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_allocation_rules")),
    )


def downgrade() -> None:
    op.drop_table("allocation_rules")
    op.drop_table("store_records")
