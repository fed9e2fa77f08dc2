"""Initial schema: stores, nodes, inbox, returns, refunds, commands, dead letters, tokens, audit.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

GENESIS = "0" * 64  # frozen copy of hub.storage.audit_chain.GENESIS

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.bulk_insert(audit_head, [{"id": 1, "seq": 0, "hash": GENESIS}])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("before", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("after", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_entity", ["entity", "entity_id"], unique=False)

    op.create_table(
        "commands",
        sa.Column("command_id", sa.String(length=36), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("body", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("created_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("send_count", sa.Integer(), nullable=False),
        sa.Column("applied_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("command_id", name=op.f("pk_commands")),
        sa.UniqueConstraint("store_id", "node_id", "seq", name="uq_commands_node_seq"),
    )
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.create_index("ix_commands_unapplied", ["applied_at", "last_sent_at"], unique=False)

    op.create_table(
        "dead_letters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("received_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("sender", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_table(
        "inbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("body", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("occurred_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("received_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("store_id", "node_id", "seq", name="uq_inbox_node_seq"),
    )
    op.create_table(
        "returns",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("return_id", sa.String(length=64), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("rma_id", sa.String(length=64), nullable=True),
        sa.Column("marketplace_id", sa.String(length=64), nullable=True),
        sa.Column("mismatch", sa.Boolean(), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=True),
        sa.Column("received_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("grade", sa.String(length=30), nullable=True),
        sa.Column("inspected_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("disposition", sa.String(length=30), nullable=True),
        sa.Column("disposed_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "return_id", name=op.f("pk_returns")),
    )
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.create_index("ix_returns_received_at", ["received_at"], unique=False)
        batch_op.create_index("ix_returns_state", ["state"], unique=False)

    op.create_table(
        "stores",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("created_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_stores")),
    )
    op.create_table(
        "dispositions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("return_id", sa.String(length=64), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("disposition", sa.String(length=30), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id", "return_id"],
            ["returns.store_id", "returns.return_id"],
            name=op.f("fk_dispositions_store_id_returns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispositions")),
    )
    with op.batch_alter_table("dispositions", schema=None) as batch_op:
        batch_op.create_index("ix_dispositions_return", ["store_id", "return_id"], unique=False)

    op.create_table(
        "inspections",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("return_id", sa.String(length=64), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("grade", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("photos", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("compliance_tags", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("inspected_by", sa.String(length=64), nullable=True),
        sa.Column("inspected_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id", "return_id"],
            ["returns.store_id", "returns.return_id"],
            name=op.f("fk_inspections_store_id_returns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
    )
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.create_index("ix_inspections_return", ["store_id", "return_id"], unique=False)

    op.create_table(
        "nodes",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("contiguous_seq", sa.BigInteger(), nullable=False),
        sa.Column("highest_seq", sa.BigInteger(), nullable=False),
        sa.Column("command_seq", sa.BigInteger(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("status", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("status_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.store_id"], name=op.f("fk_nodes_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("store_id", "node_id", name=op.f("pk_nodes")),
    )
    op.create_table(
        "refunds",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("refund_id", sa.String(length=64), nullable=False),
        sa.Column("return_id", sa.String(length=64), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("amount", hub.storage.types.Amount(precision=19, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("marketplace_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("approval_level", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.Column("requested_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("created_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id", "return_id"],
            ["returns.store_id", "returns.return_id"],
            name=op.f("fk_refunds_store_id_returns"),
        ),
        sa.PrimaryKeyConstraint("store_id", "refund_id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index("ix_refunds_return", ["store_id", "return_id"], unique=False)
        batch_op.create_index("ix_refunds_state", ["state"], unique=False)

    op.create_table(
        "return_items",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("return_id", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", hub.storage.types.Amount(precision=19, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("gtin", sa.String(length=64), nullable=True),
        sa.Column("asin", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id", "return_id"],
            ["returns.store_id", "returns.return_id"],
            name=op.f("fk_return_items_store_id_returns"),
        ),
        sa.PrimaryKeyConstraint("store_id", "return_id", "line_no", name=op.f("pk_return_items")),
    )


def downgrade() -> None:
    op.drop_table("return_items")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_refunds_state")
        batch_op.drop_index("ix_refunds_return")

    op.drop_table("refunds")
    op.drop_table("nodes")
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.drop_index("ix_inspections_return")

    op.drop_table("inspections")
    with op.batch_alter_table("dispositions", schema=None) as batch_op:
        batch_op.drop_index("ix_dispositions_return")

    op.drop_table("dispositions")
    op.drop_table("stores")
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.drop_index("ix_returns_state")
        batch_op.drop_index("ix_returns_received_at")

    op.drop_table("returns")
    op.drop_table("inbox")
    op.drop_table("dead_letters")
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.drop_index("ix_commands_unapplied")

    op.drop_table("commands")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_entity")

    op.drop_table("audit_log")
    op.drop_table("audit_head")
    op.drop_table("api_tokens")
