"""Fleet operations: dead letters replayed by an admin (``replayed_events``) and decommissioned
stores (``stores.decommissioned_*``).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "replayed_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("dead_letter_id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("replay_seq", sa.BigInteger(), nullable=False),
        sa.Column("original_seq", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("replayed_at", UTC_TS, nullable=False),
        sa.Column("replayed_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replayed_events")),
        sa.UniqueConstraint("dead_letter_id", name="uq_replayed_events_dead_letter_id"),
        sa.UniqueConstraint("store_id", "node_id", "replay_seq",
                            name="uq_replayed_events_replay_seq"),
        sa.UniqueConstraint("store_id", "node_id", "message_id",
                            name="uq_replayed_events_message"),
    )
    with op.batch_alter_table("stores") as batch:
        batch.add_column(sa.Column("decommissioned_at", UTC_TS, nullable=True))
        batch.add_column(sa.Column("decommissioned_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("decommission_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("decommission_reason")
        batch.drop_column("decommissioned_by")
        batch.drop_column("decommissioned_at")
    op.drop_table("replayed_events")
