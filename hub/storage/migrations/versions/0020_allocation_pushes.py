"""Which allocation rules version each store was pushed, in which config version, and when
(``allocation_pushes``).

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "allocation_pushes",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("pushed_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_allocation_pushes")),
    )


def downgrade() -> None:
    op.drop_table("allocation_pushes")
