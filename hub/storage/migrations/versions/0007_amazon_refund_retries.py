"""Retrying failed Amazon refunds and resolving ambiguous feeds: the retry requests.

``amazon_refund_retries`` holds one row per failed MFN refund a person asked to send again
(``hub.amazon.refunds.ops.retry_refund``); the next refunds claim takes the refund into a new feed
and deletes the row in the same transaction. An ambiguous feed's resolution needs no new column:
its candidates are read back from its ``amazon.feed.ambiguous`` audit entry, and ``abandoned`` is a
new value of ``amazon_feeds.status`` (a ``String(12)`` already).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "amazon_refund_retries",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("refund_id", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("store_id", "refund_id", name=op.f("pk_amazon_refund_retries")),
    )


def downgrade() -> None:
    op.drop_table("amazon_refund_retries")
