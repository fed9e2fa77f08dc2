"""The consistency check made whole: the public key of each node's certificate (its signed
stock snapshots are verified with it), how each difference's snapshot was authenticated and the
recount asked for it, and the snapshot pages refused for a missing or invalid signature.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
ID = sa.String(length=64)
NODE = sa.String(length=40)


def upgrade() -> None:
    with op.batch_alter_table("node_certificates") as batch:
        batch.add_column(sa.Column("public_key", sa.String(length=500), nullable=True))
    with op.batch_alter_table("stock_differences") as batch:
        batch.add_column(sa.Column("authentication", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("count_task_id", ID, nullable=True))
        batch.add_column(sa.Column("recounted_at", UTC_TS, nullable=True))
        batch.add_column(sa.Column("recount_count_id", ID, nullable=True))
        batch.add_column(sa.Column("recount_counted", sa.BigInteger(), nullable=True))
    op.create_table(
        "stock_snapshot_refusals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("store_id", NODE, nullable=False),
        sa.Column("node_id", NODE, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("snapshot_id", ID, nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("found_at", UTC_TS, nullable=False),
        sa.Column("dismissed_at", UTC_TS, nullable=True),
        sa.Column("dismissed_by", ID, nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_snapshot_refusals")),
        sa.UniqueConstraint("store_id", "node_id", "seq", name="uq_stock_snapshot_refusals_seq"),
    )
    op.create_index("ix_stock_snapshot_refusals_open", "stock_snapshot_refusals", ["status"])


def downgrade() -> None:
    op.drop_index("ix_stock_snapshot_refusals_open", table_name="stock_snapshot_refusals")
    op.drop_table("stock_snapshot_refusals")
    with op.batch_alter_table("stock_differences") as batch:
        for column in ("recount_counted", "recount_count_id", "recounted_at", "count_task_id",
                       "authentication"):
            batch.drop_column(column)
    with op.batch_alter_table("node_certificates") as batch:
        batch.drop_column("public_key")
