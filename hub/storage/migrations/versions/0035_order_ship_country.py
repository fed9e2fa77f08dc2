"""The buyer's ship-to country of an Amazon order (``amazon_orders.ship_country``): the EU OSS
summary declares a sale in the member state where the goods arrive. NULL: not known (an order
stored before this revision, or one Amazon gave no delivery address for).

Revision ID: 0035
Revises: 0034
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("amazon_orders") as batch:
        batch.add_column(sa.Column("ship_country", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("amazon_orders") as batch:
        batch.drop_column("ship_country")
