"""Which event a node really sent for a sequence: claims waiting for the node's answer.

``event_claims`` holds every event that claims a seq of a node beyond its contiguous seq while a
different event (another message id) already claims it, with its whole payload, until the node
answers the ``event.verify`` command (``command_id``); then ``outcome`` says ``kept`` (the node
wrote it) or ``planted`` (dead-lettered). See ``hub.sync.ingest.claims``.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "event_claims",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("event_hash", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", UTC_TS, nullable=False),
        sa.Column("command_id", sa.String(length=36), nullable=True),
        sa.Column("resolved_at", UTC_TS, nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_claims")),
        sa.UniqueConstraint("store_id", "node_id", "seq", "message_id",
                            name="uq_event_claims_claim"),
    )
    with op.batch_alter_table("event_claims", schema=None) as batch_op:
        batch_op.create_index("ix_event_claims_open", ["store_id", "node_id", "resolved_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_claims", schema=None) as batch_op:
        batch_op.drop_index("ix_event_claims_open")
    op.drop_table("event_claims")
