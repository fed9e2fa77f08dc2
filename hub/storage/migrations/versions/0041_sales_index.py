"""An index of the POS sales' moves by time, for the sales velocity's window.

The allocation engine's sales velocity (``hub.inventory.stock_source.pos_sales``: the units
sold per SKU and store in the last 28 days, read by the Amazon quantity push, the rules'
simulation and ``acorn-hub inventory``) had no index to find the window's moves by: PostgreSQL
read every stock move ever stored for each run. Now a partial index on ``at`` of the
``pos_sale`` moves gives it the window's moves only. Building it reads ``stock_moves`` once.

Revision ID: 0041
Revises: 0040
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

SALES = sa.text("reason = 'pos_sale'")


def upgrade() -> None:
    op.create_index("ix_stock_moves_pos_sale_at", "stock_moves", ["at"],
                    postgresql_where=SALES, sqlite_where=SALES)


def downgrade() -> None:
    op.drop_index("ix_stock_moves_pos_sale_at", table_name="stock_moves")
