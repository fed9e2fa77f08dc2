"""People, policy versions and the approvals desk: users, sessions, staff PINs, policies, the
fired-rules index; store region/city/offline limit/config; refund decision columns and queue
indexes; API tokens carry a user and a scope.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
AMOUNT = hub.storage.types.Amount(precision=19, scale=4)
JSON = sa.JSON(none_as_null=True)
INT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

REFUND_INDEXES = {
    "ix_refunds_queue": ["state", "requested_at"],
    "ix_refunds_queue_level": ["state", "approval_level", "requested_at"],
    "ix_refunds_queue_store": ["state", "store_id", "requested_at"],
    "ix_refunds_queue_market": ["state", "marketplace_id", "requested_at"],
    "ix_refunds_customer": ["customer_key", "requested_at"],
}


def upgrade() -> None:
    _new_tables()
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("city", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("offline_limit", AMOUNT, nullable=True))
        batch_op.add_column(sa.Column("offline_currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("config_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("config_hash", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_stores_region", ["region", "city"], unique=False)
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decision", JSON, nullable=True))
        batch_op.add_column(sa.Column("customer_key", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("base_amount", AMOUNT, nullable=True))
        batch_op.add_column(sa.Column("base_currency", sa.String(length=3), nullable=True))
        for name, columns in REFUND_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("region", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("city", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("store_id", sa.String(length=40), nullable=True))


def _new_tables() -> None:
    op.create_table(
        "users",
        sa.Column("id", INT_ID, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("region", sa.String(length=40), nullable=True),
        sa.Column("city", sa.String(length=60), nullable=True),
        sa.Column("store_id", sa.String(length=40), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("bulk_limit", AMOUNT, nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("password_changed_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("expires_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_username", ["username"], unique=False)
        batch_op.create_index("ix_sessions_expires_at", ["expires_at"], unique=False)
    op.create_table(
        "staff_pins",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("store_id", "staff_id", name=op.f("pk_staff_pins")),
    )
    op.create_table(
        "policies",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=False),
        sa.Column("published_at", UTC_TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_policies")),
    )
    op.create_table(
        "refund_rules",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("refund_id", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "refund_id", "rule_id", name=op.f("pk_refund_rules")),
    )
    with op.batch_alter_table("refund_rules", schema=None) as batch_op:
        batch_op.create_index("ix_refund_rules_rule", ["rule_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        for column in ("store_id", "city", "region", "username"):
            batch_op.drop_column(column)
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        for name in REFUND_INDEXES:
            batch_op.drop_index(name)
        for column in (
            "base_currency",
            "base_amount",
            "customer_key",
            "decision",
            "policy_version",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_index("ix_stores_region")
        for column in (
            "config_hash",
            "config_version",
            "offline_currency",
            "offline_limit",
            "city",
            "region",
        ):
            batch_op.drop_column(column)
    for table in ("refund_rules", "policies", "staff_pins", "sessions", "users"):
        op.drop_table(table)
