"""The Amazon tables, on the hub's one ``metadata`` (migration ``0002`` creates these; ``0005``
adds ``amazon_orders.buyer_key`` and ``deliver_by``; ``0007`` adds ``amazon_refund_retries``).

Rules:
- synced rows are keyed by Amazon's own ids, scoped by our account name; ``content_hash`` is a
  hash of the row's business columns, so an upsert knows "new", "updated" or "unchanged" and a
  second sync of the same data writes nothing;
- money is ``Amount`` plus a currency column; times are ``UtcDateTime``;
- no buyer names, emails, addresses or phone numbers are stored: of the buyer, an order keeps
  only ``buyer_key``, a keyed hash of Amazon's anonymised buyer email (``hub.amazon.buyer_key``;
  NULL for FBA orders and orders synced before 0005), so repeat customers can be recognised;
- ``amazon_feeds`` is the refund submission's write-ahead record: a row exists (``intent``)
  before ``createFeed`` is called, so a crash can be reconciled instead of resubmitted;
- ``amazon_refund_retries``: a person asked to send a failed refund again (one row per refund);
  the next claim takes it into a new feed and deletes the row (``hub.amazon.refunds.ops``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from hub.storage.tables.core import metadata
from hub.storage.types import Amount, UtcDateTime, json_column

ACCOUNT = String(64)
AMZ_ID = String(64)
HASH = String(64)
# the orders routing still works on (the partial index ``ix_amazon_orders_open``)
OPEN_ORDERS = "status IN ('PENDING', 'UNSHIPPED', 'PARTIALLY_SHIPPED')"

amazon_accounts = Table(
    "amazon_accounts",
    metadata,
    Column("name", ACCOUNT, primary_key=True),
    Column("seller_id", String(32), nullable=False),
    Column("region", String(2), nullable=False),
    Column("marketplaces", json_column(), nullable=False),
    Column("endpoint", String(300)),
    Column("status", String(10), nullable=False),
    Column("last_error", Text),
    Column("last_error_at", UtcDateTime),
    Column("last_ok_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("seller_id", name="uq_amazon_accounts_seller_id"),
)

amazon_cursors = Table(
    "amazon_cursors",
    metadata,
    Column("account", ACCOUNT, primary_key=True),
    Column("job", String(20), primary_key=True),
    Column("marketplace_id", String(20), primary_key=True),
    Column("position", UtcDateTime),
    Column("state", json_column(), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

amazon_orders = Table(
    "amazon_orders",
    metadata,
    Column("account", ACCOUNT, primary_key=True),
    Column("order_id", AMZ_ID, primary_key=True),
    Column("marketplace_id", String(20), nullable=False),
    Column("status", String(30), nullable=False),
    Column("fulfilled_by", String(10), nullable=False),
    Column("purchased_at", UtcDateTime, nullable=False),
    Column("last_updated_at", UtcDateTime, nullable=False),
    Column("currency", String(3)),
    Column("total", Amount),
    Column("items", json_column(), nullable=False),
    Column("buyer_key", HASH),  # HMAC-SHA256 hex of the anonymised buyer email, never the email
    Column("deliver_by", UtcDateTime),  # the promised latest delivery
    # the delivery address's country (migration 0035; OSS is declared where goods arrive)
    Column("ship_country", String(2)),
    Column("content_hash", HASH, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_amazon_orders_order_id", "order_id"),
    # migration 0042: routing starts from the open orders, not every order ever synced
    Index("ix_amazon_orders_open", "account", "order_id",
          postgresql_where=text(OPEN_ORDERS), sqlite_where=text(OPEN_ORDERS)),
)

amazon_returns = Table(
    "amazon_returns",
    metadata,
    Column("account", ACCOUNT, primary_key=True),
    Column("rma_id", AMZ_ID, primary_key=True),
    Column("sku", AMZ_ID, primary_key=True),
    Column("order_id", AMZ_ID, nullable=False),
    Column("marketplace_id", String(20), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("status", String(30), nullable=False),
    Column("label_type", String(40), nullable=False),
    Column("carrier", String(100), nullable=False),
    Column("tracking_id", String(64), nullable=False),
    Column("asin", String(20), nullable=False),
    Column("item_name", String(500), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("reason", String(100), nullable=False),
    Column("in_policy", Boolean, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("order_amount", Amount),
    Column("order_quantity", Integer),
    Column("refunded_amount", Amount),
    Column("store_ref", String(64)),
    Column("expected", String(20), nullable=False),
    Column("content_hash", HASH, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_amazon_returns_expected", "expected"),
    Index("ix_amazon_returns_order_id", "order_id"),
    Index("ix_amazon_returns_updated_at", "updated_at"),  # the reasons' incremental pass
)

amazon_fba_returns = Table(
    "amazon_fba_returns",
    metadata,
    Column("account", ACCOUNT, primary_key=True),
    Column("row_key", HASH, primary_key=True),
    Column("marketplace_id", String(20), nullable=False),
    Column("returned_at", UtcDateTime, nullable=False),
    Column("order_id", AMZ_ID, nullable=False),
    Column("sku", AMZ_ID, nullable=False),
    Column("asin", String(20), nullable=False),
    Column("fnsku", String(20), nullable=False),
    Column("product_name", String(500), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("fulfillment_center", String(20), nullable=False),
    Column("disposition", String(40), nullable=False),
    Column("reason", String(100), nullable=False),
    Column("status", String(100), nullable=False),
    Column("license_plate", String(40), nullable=False),
    Column("customer_comments", Text, nullable=False),
    # FBA returns are Amazon's to refund and restock: ACORN shows them, never acts on them.
    Column("acorn_can_act", Boolean, nullable=False, server_default=false()),
    Column("content_hash", HASH, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_amazon_fba_returns_updated_at", "updated_at"),  # the reasons' incremental pass
)

amazon_refund_events = Table(
    "amazon_refund_events",
    metadata,
    Column("account", ACCOUNT, primary_key=True),
    Column("order_id", AMZ_ID, primary_key=True),
    Column("adjustment_item_id", AMZ_ID, primary_key=True),
    Column("marketplace_name", String(40), nullable=False),
    Column("posted_at", UtcDateTime, nullable=False),
    Column("order_item_id", AMZ_ID, nullable=False),
    Column("sku", AMZ_ID, nullable=False),
    Column("quantity", Integer),
    Column("currency", String(3), nullable=False),
    Column("principal", Amount, nullable=False),
    Column("total", Amount, nullable=False),
    Column("charges", json_column(), nullable=False),
    Column("content_hash", HASH, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

amazon_settlement_reports = Table(
    "amazon_settlement_reports",
    metadata,
    Column("account", ACCOUNT, primary_key=True),
    Column("report_id", AMZ_ID, primary_key=True),
    Column("settlement_id", AMZ_ID, nullable=False),
    Column("marketplace_id", String(20), nullable=False),
    Column("start_at", UtcDateTime),
    Column("end_at", UtcDateTime),
    Column("deposit_at", UtcDateTime),
    Column("total", Amount),
    Column("currency", String(3), nullable=False),
    Column("lines", Integer, nullable=False),
    Column("problems", Integer, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
)

amazon_settlement_lines = Table(
    "amazon_settlement_lines",
    metadata,
    Column("account", ACCOUNT, primary_key=True),
    Column("report_id", AMZ_ID, primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("settlement_id", AMZ_ID, nullable=False),
    Column("transaction_type", String(60), nullable=False),
    Column("order_id", AMZ_ID, nullable=False),
    Column("adjustment_id", AMZ_ID, nullable=False),
    Column("merchant_adjustment_item_id", AMZ_ID, nullable=False),
    Column("amount_type", String(60), nullable=False),
    Column("amount_description", String(100), nullable=False),
    Column("amount", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("posted_at", UtcDateTime),
    Column("sku", AMZ_ID, nullable=False),
    Column("quantity", Integer),
    Column("order_item_code", AMZ_ID, nullable=False),
    Index("ix_amazon_settlement_lines_madj", "merchant_adjustment_item_id"),
)

amazon_problems = Table(
    "amazon_problems",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", UtcDateTime, nullable=False),
    Column("account", ACCOUNT, nullable=False),
    Column("job", String(20), nullable=False),
    Column("report_id", AMZ_ID),
    Column("line", Integer),
    Column("message", Text, nullable=False),
    Column("sample", Text),
)

amazon_feeds = Table(
    "amazon_feeds",
    metadata,
    Column("feed_key", String(36), primary_key=True),
    Column("account", ACCOUNT, nullable=False),
    Column("marketplace_id", String(20), nullable=False),
    Column("status", String(12), nullable=False),
    Column("document_id", String(200)),
    Column("feed_id", String(40)),
    Column("payload", Text, nullable=False),
    Column("messages", Integer, nullable=False),
    Column("owner", String(64), nullable=False),
    Column("lease_until", UtcDateTime, nullable=False),
    Column("intent_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("processed_at", UtcDateTime),
    Column("result", json_column()),
    Column("last_error", Text),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("feed_id", name="uq_amazon_feeds_feed_id"),
    Index("ix_amazon_feeds_account_status", "account", "status"),
)

amazon_refund_submissions = Table(
    "amazon_refund_submissions",
    metadata,
    Column("store_id", String(40), primary_key=True),
    Column("refund_id", String(64), primary_key=True),
    Column("account", ACCOUNT, nullable=False),
    Column("feed_key", String(36), nullable=False),
    Column("message_id", Integer, nullable=False),
    Column("order_id", AMZ_ID, nullable=False),
    Column("marketplace_id", String(20), nullable=False),
    Column("amount", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("items", json_column(), nullable=False),
    Column("status", String(12), nullable=False),
    Column("error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_amazon_refund_submissions_order", "account", "order_id"),
    Index("ix_amazon_refund_submissions_feed", "feed_key"),
    Index("ix_amazon_refund_submissions_status", "account", "status"),  # migration 0044
)

amazon_refund_retries = Table(
    "amazon_refund_retries",
    metadata,
    Column("store_id", String(40), primary_key=True),
    Column("refund_id", String(64), primary_key=True),
    Column("requested_by", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
)

TABLES = (
    amazon_accounts,
    amazon_cursors,
    amazon_orders,
    amazon_returns,
    amazon_fba_returns,
    amazon_refund_events,
    amazon_settlement_reports,
    amazon_settlement_lines,
    amazon_problems,
    amazon_feeds,
    amazon_refund_submissions,
    amazon_refund_retries,
)
