"""Settlement reconciliation: each settlement's status (``settlement_status``), who resolved
which difference (``settlement_resolutions``) and the versioned account mapping
(``settlement_accounts``). Settlements reconciled before have no row: they are ``open``.

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
AMOUNT = hub.storage.types.Amount(precision=19, scale=4)


def upgrade() -> None:
    op.create_table(
        "settlement_status",
        sa.Column("settlement_id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("unresolved", sa.Integer(), nullable=False),
        sa.Column("gap", AMOUNT, nullable=False),
        sa.Column("reconciled_by", sa.String(length=200), nullable=False),
        sa.Column("reconciled_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("settlement_id", name=op.f("pk_settlement_status")),
    )
    op.create_table(
        "settlement_resolutions",
        sa.Column("settlement_id", sa.String(length=64), nullable=False),
        sa.Column("difference_key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("resolved_by", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("resolved_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint(
            "settlement_id", "difference_key", name=op.f("pk_settlement_resolutions")
        ),
    )
    op.create_table(
        "settlement_accounts",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_settlement_accounts")),
    )


def downgrade() -> None:
    op.drop_table("settlement_accounts")
    op.drop_table("settlement_resolutions")
    op.drop_table("settlement_status")
