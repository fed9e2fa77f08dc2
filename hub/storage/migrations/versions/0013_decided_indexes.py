"""Indexes of the desk's decided view: by decision time, order id and item SKU.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_refunds_decided", "refunds", ["decided_at"])
    op.create_index("ix_refunds_order", "refunds", ["order_id"])
    op.create_index("ix_return_items_sku", "return_items", ["sku"])


def downgrade() -> None:
    op.drop_index("ix_return_items_sku", table_name="return_items")
    op.drop_index("ix_refunds_order", table_name="refunds")
    op.drop_index("ix_refunds_decided", table_name="refunds")
