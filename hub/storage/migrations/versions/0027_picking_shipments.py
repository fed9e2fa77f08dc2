"""Picking at the stores and shipments confirmed to Amazon: the pick tasks sent to the stores'
nodes, and each shipped package's carrier, tracking number, ship date and confirmation state.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
ID = sa.String(length=64)
NODE = sa.String(length=40)
JSON = sa.JSON(none_as_null=True)


def upgrade() -> None:
    op.create_table(
        "pick_tasks",
        sa.Column("package_id", ID, nullable=False),
        sa.Column("account", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("store_id", NODE, nullable=False),
        sa.Column("node_id", NODE, nullable=False),
        sa.Column("command_id", ID, nullable=False),
        sa.Column("lines", JSON, nullable=False),
        sa.Column("ship_by", UTC_TS, nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("sent_at", UTC_TS, nullable=False),
        sa.Column("closed_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("package_id"),
    )
    op.create_index("ix_pick_tasks_order", "pick_tasks", ["account", "order_id"])
    op.create_table(
        "package_shipments",
        sa.Column("package_id", ID, nullable=False),
        sa.Column("account", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("reference_id", sa.Integer(), nullable=False),
        sa.Column("store_id", NODE, nullable=False),
        sa.Column("node_id", NODE, nullable=False),
        sa.Column("carrier", ID, nullable=False),
        sa.Column("tracking_number", ID, nullable=False),
        sa.Column("shipped_at", UTC_TS, nullable=False),
        sa.Column("lines", JSON, nullable=False),
        sa.Column("confirm_state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("intent_at", UTC_TS, nullable=True),
        sa.Column("confirmed_at", UTC_TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("recorded_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("package_id"),
    )
    op.create_index("ix_package_shipments_state", "package_shipments",
                    ["account", "confirm_state"])


def downgrade() -> None:
    op.drop_index("ix_package_shipments_state", table_name="package_shipments")
    op.drop_table("package_shipments")
    op.drop_index("ix_pick_tasks_order", table_name="pick_tasks")
    op.drop_table("pick_tasks")
