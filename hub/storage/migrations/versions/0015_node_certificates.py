"""Node certificates: each node's current certificate serial and expiry, and its revocation
(``node_certificates``).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "node_certificates",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=True),
        sa.Column("not_after", UTC_TS, nullable=True),
        sa.Column("issued_at", UTC_TS, nullable=True),
        sa.Column("revoked_at", UTC_TS, nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.Column("revoked_role", sa.String(length=30), nullable=True),
        sa.Column("revoked_reason", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("store_id", "node_id", name=op.f("pk_node_certificates")),
    )


def downgrade() -> None:
    op.drop_table("node_certificates")
