"""The monthly archive's records (``finance_archives``, ``finance_archive_files``) and evidence
attached to returns (``evidence_items``).

Revision ID: 0034
Revises: 0033
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "finance_archives",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", UTC_TS, nullable=False),
        sa.Column("closed_by", sa.String(length=200), nullable=False),
        sa.Column("closed_role", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("month", "version", name=op.f("pk_finance_archives")),
    )
    op.create_table(
        "finance_archive_files",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("month", "version", "name", name=op.f("pk_finance_archive_files")),
    )
    op.create_table(
        "evidence_items",
        sa.Column("evidence_id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("return_id", sa.String(length=64), nullable=False),
        sa.Column("refund_id", sa.String(length=64), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", UTC_TS, nullable=False),
        sa.Column("purge_after", UTC_TS, nullable=False),
        sa.Column("purged_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("evidence_id", name=op.f("pk_evidence_items")),
    )
    op.create_index("ix_evidence_items_return", "evidence_items", ["store_id", "return_id"])
    op.create_index("ix_evidence_items_sha256", "evidence_items", ["sha256"])
    op.create_index("ix_evidence_items_recorded", "evidence_items", ["recorded_at"])


def downgrade() -> None:
    for name in ("recorded", "sha256", "return"):
        op.drop_index(f"ix_evidence_items_{name}", table_name="evidence_items")
    op.drop_table("evidence_items")
    op.drop_table("finance_archive_files")
    op.drop_table("finance_archives")
