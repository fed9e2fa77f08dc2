"""Amazon order facts for the policy: a keyed buyer hash, the promised delivery, risk flags.

``amazon_orders`` gains ``buyer_key`` (HMAC-SHA256 hex of Amazon's anonymised buyer email, never
the email) and ``deliver_by``; orders synced before stay NULL until Amazon updates them (or a
sync with ``--since`` reads them again). ``risk_flags`` holds flags on orders and customers.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
INT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("amazon_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buyer_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("deliver_by", UTC_TS, nullable=True))
    op.create_table(
        "risk_flags",
        sa.Column("id", INT_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("flagged_by", sa.String(length=100), nullable=False),
        sa.Column("flagged_at", UTC_TS, nullable=False),
        sa.Column("cleared_at", UTC_TS, nullable=True),
        sa.Column("cleared_by", sa.String(length=100), nullable=True),
        sa.Column("clear_reason", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_flags")),
        sa.UniqueConstraint("source_ref", name=op.f("uq_risk_flags_source_ref")),
    )
    with op.batch_alter_table("risk_flags", schema=None) as batch_op:
        batch_op.create_index("ix_risk_flags_subject", ["kind", "subject"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_flags_subject")
    op.drop_table("risk_flags")
    with op.batch_alter_table("amazon_orders", schema=None) as batch_op:
        batch_op.drop_column("deliver_by")
        batch_op.drop_column("buyer_key")
