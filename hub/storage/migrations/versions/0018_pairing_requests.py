"""Pairing codes: a node with no identity asks for one, a technician enters it on the desk
(``pairing_requests``).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pairing_requests",
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csr", sa.Text(), nullable=False),
        sa.Column("serial", sa.String(length=200), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("expires_at", UTC_TS, nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=True),
        sa.Column("node_id", sa.String(length=40), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_role", sa.String(length=30), nullable=True),
        sa.Column("approved_at", UTC_TS, nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("fetched_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_pairing_requests")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_pairing_requests_token_hash")),
    )
    op.create_index("ix_pairing_requests_code_hash", "pairing_requests", ["code_hash"])
    op.create_index("ix_pairing_requests_client", "pairing_requests", ["client", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_pairing_requests_client", table_name="pairing_requests")
    op.drop_index("ix_pairing_requests_code_hash", table_name="pairing_requests")
    op.drop_table("pairing_requests")
