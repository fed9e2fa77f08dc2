"""Indexes for the periodic passes' and ``/metrics``' reads that read whole tables (a review of
their statements, issue 16):

- ``amazon_refund_submissions (account, status)``: the refunds job confirms and settles the
  open submissions of each account; it read every submission the account ever made;
- ``refunds (state, marketplace_id)`` of the Amazon MFN refunds only: the refunds job claims the
  approved ones not yet submitted; through the state-and-marketplace index it read every
  approved refund of the account's marketplaces, and FBA refunds stay approved for good;
- ``pick_tasks (ship_by)`` of the open tasks, and ``package_shipments (confirm_state)`` of the
  shipments not confirmed: both read at every ``/metrics`` scrape (packages due soon,
  unconfirmed shipments), which scanned every task and shipment ever recorded.

Building them reads those tables once.

Revision ID: 0044
Revises: 0043
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None

MFN = sa.text("channel = 'amazon_mfn'")
OPEN_TASKS = sa.text("status = 'open'")
UNCONFIRMED = sa.text("confirm_state <> 'confirmed'")


def upgrade() -> None:
    op.create_index("ix_amazon_refund_submissions_status", "amazon_refund_submissions",
                    ["account", "status"])
    op.create_index("ix_refunds_amazon_mfn", "refunds", ["state", "marketplace_id"],
                    postgresql_where=MFN, sqlite_where=MFN)
    op.create_index("ix_pick_tasks_open", "pick_tasks", ["ship_by"],
                    postgresql_where=OPEN_TASKS, sqlite_where=OPEN_TASKS)
    op.create_index("ix_package_shipments_unconfirmed", "package_shipments", ["confirm_state"],
                    postgresql_where=UNCONFIRMED, sqlite_where=UNCONFIRMED)


def downgrade() -> None:
    op.drop_index("ix_package_shipments_unconfirmed", table_name="package_shipments")
    op.drop_index("ix_pick_tasks_open", table_name="pick_tasks")
    op.drop_index("ix_refunds_amazon_mfn", table_name="refunds")
    op.drop_index("ix_amazon_refund_submissions_status", table_name="amazon_refund_submissions")
