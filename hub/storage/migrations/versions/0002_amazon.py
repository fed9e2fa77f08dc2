"""Amazon integration: seller accounts, sync cursors, synced orders/returns/refund events/
settlements, data problems, and the refund feeds' write-ahead records.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "amazon_accounts",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.Column("marketplaces", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("endpoint", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_amazon_accounts")),
        sa.UniqueConstraint("seller_id", name="uq_amazon_accounts_seller_id"),
    )
    op.create_table(
        "amazon_cursors",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("job", sa.String(length=20), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("position", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("state", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("updated_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "job", "marketplace_id", name=op.f("pk_amazon_cursors")),
    )
    op.create_table(
        "amazon_fba_returns",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("row_key", sa.String(length=64), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("returned_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("asin", sa.String(length=20), nullable=False),
        sa.Column("fnsku", sa.String(length=20), nullable=False),
        sa.Column("product_name", sa.String(length=500), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("fulfillment_center", sa.String(length=20), nullable=False),
        sa.Column("disposition", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=100), nullable=False),
        sa.Column("license_plate", sa.String(length=40), nullable=False),
        sa.Column("customer_comments", sa.Text(), nullable=False),
        sa.Column("acorn_can_act", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "row_key", name=op.f("pk_amazon_fba_returns")),
    )
    op.create_table(
        "amazon_feeds",
        sa.Column("feed_key", sa.String(length=36), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("document_id", sa.String(length=200), nullable=True),
        sa.Column("feed_id", sa.String(length=40), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("lease_until", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("intent_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("processed_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("feed_key", name=op.f("pk_amazon_feeds")),
        sa.UniqueConstraint("feed_id", name="uq_amazon_feeds_feed_id"),
    )
    with op.batch_alter_table("amazon_feeds", schema=None) as batch_op:
        batch_op.create_index("ix_amazon_feeds_account_status", ["account", "status"], unique=False)

    op.create_table(
        "amazon_orders",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("fulfilled_by", sa.String(length=10), nullable=False),
        sa.Column("purchased_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_updated_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("total", hub.storage.types.Amount(precision=19, scale=4), nullable=True),
        sa.Column("items", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "order_id", name=op.f("pk_amazon_orders")),
    )
    with op.batch_alter_table("amazon_orders", schema=None) as batch_op:
        batch_op.create_index("ix_amazon_orders_order_id", ["order_id"], unique=False)

    op.create_table(
        "amazon_problems",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("job", sa.String(length=20), nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("sample", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_amazon_problems")),
    )
    op.create_table(
        "amazon_refund_events",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("adjustment_item_id", sa.String(length=64), nullable=False),
        sa.Column("marketplace_name", sa.String(length=40), nullable=False),
        sa.Column("posted_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("order_item_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("principal", hub.storage.types.Amount(precision=19, scale=4), nullable=False),
        sa.Column("total", hub.storage.types.Amount(precision=19, scale=4), nullable=False),
        sa.Column("charges", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "account", "order_id", "adjustment_item_id", name=op.f("pk_amazon_refund_events")
        ),
    )
    op.create_table(
        "amazon_refund_submissions",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("refund_id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("feed_key", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("amount", hub.storage.types.Amount(precision=19, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("items", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "refund_id", name=op.f("pk_amazon_refund_submissions")),
    )
    with op.batch_alter_table("amazon_refund_submissions", schema=None) as batch_op:
        batch_op.create_index("ix_amazon_refund_submissions_feed", ["feed_key"], unique=False)
        batch_op.create_index(
            "ix_amazon_refund_submissions_order", ["account", "order_id"], unique=False
        )

    op.create_table(
        "amazon_returns",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("rma_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("requested_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("label_type", sa.String(length=40), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=False),
        sa.Column("tracking_id", sa.String(length=64), nullable=False),
        sa.Column("asin", sa.String(length=20), nullable=False),
        sa.Column("item_name", sa.String(length=500), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("in_policy", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("order_amount", hub.storage.types.Amount(precision=19, scale=4), nullable=True),
        sa.Column("order_quantity", sa.Integer(), nullable=True),
        sa.Column("refunded_amount", hub.storage.types.Amount(precision=19, scale=4),
        nullable=True),
        sa.Column("store_ref", sa.String(length=64), nullable=True),
        sa.Column("expected", sa.String(length=20), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "rma_id", "sku", name=op.f("pk_amazon_returns")),
    )
    with op.batch_alter_table("amazon_returns", schema=None) as batch_op:
        batch_op.create_index("ix_amazon_returns_expected", ["expected"], unique=False)
        batch_op.create_index("ix_amazon_returns_order_id", ["order_id"], unique=False)

    op.create_table(
        "amazon_settlement_lines",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("settlement_id", sa.String(length=64), nullable=False),
        sa.Column("transaction_type", sa.String(length=60), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("adjustment_id", sa.String(length=64), nullable=False),
        sa.Column("merchant_adjustment_item_id", sa.String(length=64), nullable=False),
        sa.Column("amount_type", sa.String(length=60), nullable=False),
        sa.Column("amount_description", sa.String(length=100), nullable=False),
        sa.Column("amount", hub.storage.types.Amount(precision=19, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("posted_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("order_item_code", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(
            "account", "report_id", "line_no", name=op.f("pk_amazon_settlement_lines")
        ),
    )
    with op.batch_alter_table("amazon_settlement_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_amazon_settlement_lines_madj", ["merchant_adjustment_item_id"], unique=False
        )

    op.create_table(
        "amazon_settlement_reports",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("settlement_id", sa.String(length=64), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("start_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("end_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("deposit_at", hub.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("total", hub.storage.types.Amount(precision=19, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", hub.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "report_id", name=op.f("pk_amazon_settlement_reports")),
    )


def downgrade() -> None:
    op.drop_table("amazon_settlement_reports")
    with op.batch_alter_table("amazon_settlement_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_amazon_settlement_lines_madj")

    op.drop_table("amazon_settlement_lines")
    with op.batch_alter_table("amazon_returns", schema=None) as batch_op:
        batch_op.drop_index("ix_amazon_returns_order_id")
        batch_op.drop_index("ix_amazon_returns_expected")

    op.drop_table("amazon_returns")
    with op.batch_alter_table("amazon_refund_submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_amazon_refund_submissions_order")
        batch_op.drop_index("ix_amazon_refund_submissions_feed")

    op.drop_table("amazon_refund_submissions")
    op.drop_table("amazon_refund_events")
    op.drop_table("amazon_problems")
    with op.batch_alter_table("amazon_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_amazon_orders_order_id")

    op.drop_table("amazon_orders")
    with op.batch_alter_table("amazon_feeds", schema=None) as batch_op:
        batch_op.drop_index("ix_amazon_feeds_account_status")

    op.drop_table("amazon_feeds")
    op.drop_table("amazon_fba_returns")
    op.drop_table("amazon_cursors")
    op.drop_table("amazon_accounts")
