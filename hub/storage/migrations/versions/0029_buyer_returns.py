"""The buyer's return page: returns booked online to a chosen store, and the page's rate
limiter (``buyer_returns``, ``buyer_throttle``).

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
JSON = sa.JSON(none_as_null=True)


def upgrade() -> None:
    op.create_table(
        "buyer_returns",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("items", JSON, nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_buyer_returns")),
        sa.UniqueConstraint("order_id", "request_id", name="uq_buyer_returns_request"),
    )
    op.create_index("ix_buyer_returns_order_id", "buyer_returns", ["order_id"])
    op.create_table(
        "buyer_throttle",
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("window_started_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_buyer_throttle")),
    )


def downgrade() -> None:
    op.drop_table("buyer_throttle")
    op.drop_index("ix_buyer_returns_order_id", table_name="buyer_returns")
    op.drop_table("buyer_returns")
