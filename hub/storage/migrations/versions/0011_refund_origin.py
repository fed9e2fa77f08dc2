"""Every refund records who asked for it: ``refunds.origin`` = store | pos | hub.

Existing rows are filled from what is known: an id starting with ``H`` was asked for at the hub
(``hub.refunds.requests`` names them so, and no store does), a refund of a POS sale was asked by
the store's node for its POS, every other one by the store's node. See ``hub.refunds.origin``.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BACKFILL = """
UPDATE refunds SET origin = CASE
    WHEN refund_id LIKE 'H%' THEN 'hub'
    WHEN channel = 'pos' THEN 'pos'
    ELSE 'store'
END
"""


def upgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=10), nullable=True))
    op.execute(BACKFILL)
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.alter_column("origin", existing_type=sa.String(length=10), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("origin")
