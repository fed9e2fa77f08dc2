"""The evidence the daily purge is due to look at (issue 16): ``evidence_items (purge_after)``
of the items not yet purged. The purge asked "is anything past its retention?" by scanning every
item not yet purged, which grows with the years of retention; with the index it is one probe.

Building it reads the table once.

Revision ID: 0045
Revises: 0044
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None

NOT_PURGED = sa.text("purged_at IS NULL")


def upgrade() -> None:
    op.create_index("ix_evidence_items_due", "evidence_items", ["purge_after"],
                    postgresql_where=NOT_PURGED, sqlite_where=NOT_PURGED)


def downgrade() -> None:
    op.drop_index("ix_evidence_items_due", table_name="evidence_items")
