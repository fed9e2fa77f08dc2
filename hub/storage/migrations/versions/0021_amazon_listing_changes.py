"""Amazon listings quantity outbox: one row per change, sent once (``amazon_listing_changes``).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "amazon_listing_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=5), nullable=True),
        sa.Column("submission_id", sa.String(length=64), nullable=True),
        sa.Column("feed_id", sa.String(length=40), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("issues", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("sent_at", UTC_TS, nullable=True),
        sa.Column("done_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "account", "marketplace_id", "sku", "change_id", name="uq_amazon_listing_changes_key"
        ),
    )
    with op.batch_alter_table("amazon_listing_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_amazon_listing_changes_status",
            ["account", "marketplace_id", "status"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("amazon_listing_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_amazon_listing_changes_status")
    op.drop_table("amazon_listing_changes")
