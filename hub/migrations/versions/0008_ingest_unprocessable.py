"""Ingest that cannot be poisoned: an unprocessable event is recorded so its node's stream moves on
(slot, filled by the ingest work).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
