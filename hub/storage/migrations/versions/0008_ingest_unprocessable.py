"""Ingest that cannot be poisoned: an unprocessable event is recorded so its node's stream moves on.

``unprocessable_events`` holds one row per (store, node, seq) the hub could not store or apply
(an event that does not decode but names its seq, or one whose storing failed); the node's
contiguous seq moves past it, so its later events apply (``hub.sync.ingest``). Its dead letter says
why. ``dead_letters`` gains the original payload size and SHA-256 (the payload itself is capped),
and who resolved it, when and why (``acorn-hub dead-letters resolve``).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
DEAD_LETTER_COLUMNS = ("payload_size", "payload_sha256", "resolved_at", "resolved_by",
                       "resolution")


def upgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload_size", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("payload_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", UTC_TS, nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("resolution", sa.Text(), nullable=True))
    op.create_table(
        "unprocessable_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("received_at", UTC_TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("dead_letter_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unprocessable_events")),
        sa.UniqueConstraint("store_id", "node_id", "seq", name="uq_unprocessable_node_seq"),
    )


def downgrade() -> None:
    op.drop_table("unprocessable_events")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        for name in reversed(DEAD_LETTER_COLUMNS):
            batch_op.drop_column(name)
