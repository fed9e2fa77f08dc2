"""What the counter and the POS know of a return: item category and opened flag, the sale date.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


UTC_TS = hub.storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sold_at", UTC_TS, nullable=True))
    with op.batch_alter_table("return_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("opened", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("return_items", schema=None) as batch_op:
        batch_op.drop_column("opened")
        batch_op.drop_column("category")
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.drop_column("sold_at")
