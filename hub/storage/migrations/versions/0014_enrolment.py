"""Device enrolment: ``enrolment_codes``, ``enrolment_failures`` and the store settings a node
receives (``stores.currency``, ``time_zone``, ``language``, ``printer_paper``).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
STORE_COLUMNS = (("currency", 3), ("time_zone", 64), ("language", 8), ("printer_paper", 8))


def upgrade() -> None:
    op.create_table(
        "enrolment_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_role", sa.String(length=30), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("expires_at", UTC_TS, nullable=False),
        sa.Column("used_at", UTC_TS, nullable=True),
        sa.Column("used_from", sa.String(length=200), nullable=True),
        sa.Column("serial", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_enrolment_codes")),
    )
    op.create_index("ix_enrolment_codes_store_id", "enrolment_codes", ["store_id"])
    op.create_table(
        "enrolment_failures",
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_enrolment_failures")),
    )
    with op.batch_alter_table("stores") as batch:
        for name, length in STORE_COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        for name, _length in reversed(STORE_COLUMNS):
            batch.drop_column(name)
    op.drop_table("enrolment_failures")
    op.drop_index("ix_enrolment_codes_store_id", table_name="enrolment_codes")
    op.drop_table("enrolment_codes")
