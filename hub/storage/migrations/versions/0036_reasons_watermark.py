"""Indexes for the return reasons' incremental pass (``hub.finance.reasons.store``): the hub's
time of storing a return (``returns.created_at``) and of storing or changing an Amazon report
line (``amazon_returns.updated_at``, ``amazon_fba_returns.updated_at``). The pass that runs every
minute looks only at what arrived since its last one, instead of walking every classified line.

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

INDEXES = (("ix_returns_created_at", "returns", "created_at"),
           ("ix_amazon_returns_updated_at", "amazon_returns", "updated_at"),
           ("ix_amazon_fba_returns_updated_at", "amazon_fba_returns", "updated_at"))


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
