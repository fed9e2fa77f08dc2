"""The hub's tables (SQLAlchemy Core). Migrations in ``hub/storage/migrations`` create exactly
these.

Rules:
- money is an ``Amount`` plus a ``currency`` column, never a float;
- every timestamp is a ``UtcDateTime``;
- returns and refunds are keyed by (store_id, id): ids come from the stores and are only unique
  within one store;
- ``inbox`` holds every accepted event once (UNIQUE store, node, seq); it is applied to the
  projections in seq order up to ``nodes.contiguous_seq``; a seq held in
  ``unprocessable_events`` instead counts as held (not applied), so the stream moves past it;
- ``audit_log`` is append-only and hash-chained; ``audit_head`` holds the chain's tip and is the
  lock every writing transaction takes first (see ``hub.storage.engine.writing``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from hub.storage.types import Amount, UtcDateTime, json_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

ID = String(64)
NODE = String(40)


def document_table(name: str, *extra: Column[Any]) -> Table:
    """A versioned YAML document's table (``hub.storage.documents``): one row per published
    version, its text, its SHA-256 and who published it when (plus ``extra`` columns)."""
    return Table(
        name,
        metadata,
        Column("version", Integer, primary_key=True, autoincrement=False),
        Column("name", String(100), nullable=False),
        Column("yaml", Text, nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("published_by", String(200), nullable=False),
        Column("published_at", UtcDateTime, nullable=False),
        *extra,
    )


stores = Table(
    "stores", metadata,
    Column("store_id", NODE, primary_key=True),
    Column("name", String(200)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("region", String(40)),
    Column("city", String(60)),
    Column("offline_limit", Amount),
    Column("offline_currency", String(3)),
    Column("config_version", Integer),
    Column("config_hash", String(64)),
    # what a node is told at enrolment (migration 0014); empty: the edge's own defaults
    Column("currency", String(3)),
    Column("time_zone", String(64)),
    Column("language", String(8)),
    Column("printer_paper", String(8)),
    # a decommissioned store keeps its history; no code enrols a node into it (migration 0017)
    Column("decommissioned_at", UtcDateTime),
    Column("decommissioned_by", String(200)),
    Column("decommission_reason", String(500)),
    Index("ix_stores_region", "region", "city"),
)

nodes = Table(
    "nodes", metadata,
    Column("store_id", NODE, primary_key=True),
    Column("node_id", NODE, primary_key=True),
    Column("contiguous_seq", BigInteger, nullable=False, default=0),
    Column("highest_seq", BigInteger, nullable=False, default=0),
    Column("command_seq", BigInteger, nullable=False, default=0),
    Column("online", Boolean, nullable=False, default=False),
    Column("status", json_column()),
    Column("status_at", UtcDateTime),
    Column("last_seen_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(["store_id"], ["stores.store_id"]),
)

inbox = Table(
    "inbox", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("store_id", NODE, nullable=False),
    Column("node_id", NODE, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("message_id", String(36), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("body", json_column(), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("store_id", "node_id", "seq", name="uq_inbox_node_seq"),
)

# Events that claim a seq of a node beyond its contiguous seq while another event already claims
# it: the node is asked (``event.verify``) which one it wrote; see ``hub.sync.ingest.claims``.
event_claims = Table(
    "event_claims", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("store_id", NODE, nullable=False),
    Column("node_id", NODE, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("message_id", String(36), nullable=False),
    Column("event_hash", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("command_id", String(36)),
    Column("resolved_at", UtcDateTime),
    Column("outcome", String(20)),
    UniqueConstraint("store_id", "node_id", "seq", "message_id", name="uq_event_claims_claim"),
    Index("ix_event_claims_open", "store_id", "node_id", "resolved_at"),
)

returns = Table(
    "returns", metadata,
    Column("store_id", NODE, primary_key=True),
    Column("return_id", ID, primary_key=True),
    Column("node_id", NODE, nullable=False),
    Column("state", String(20), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("order_id", ID),
    Column("rma_id", ID),
    Column("marketplace_id", ID),
    Column("mismatch", Boolean, nullable=False, default=False),
    Column("staff_id", ID),
    Column("received_at", UtcDateTime, nullable=False),
    Column("sold_at", UtcDateTime),  # the original sale, as the store's receipt or POS says
    Column("grade", String(30)),
    Column("inspected_at", UtcDateTime),
    Column("disposition", String(30)),
    Column("disposed_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_returns_state", "state"),
    Index("ix_returns_received_at", "received_at"),
    Index("ix_returns_created_at", "created_at"),  # the reasons' incremental pass
)

# A return's lines, inspections and dispositions carry no FOREIGN KEY to ``returns``: the
# projector (``hub.refunds.projection``) is their only writer, writes them in the transaction that
# writes or reads their return, and refuses an event about a return it does not hold (a Problem:
# dead-lettered, nothing written). The key's per-row check cost more than storing the rows:
# COPYing a batch of 700 lines took 20-44 ms with it, 3 ms without (migration 0038).
# ``refunds`` keeps its key: one row per refund, money.
return_items = Table(
    "return_items", metadata,
    Column("store_id", NODE, primary_key=True),
    Column("return_id", ID, primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", ID, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("description", String(200)),
    Column("gtin", ID),
    Column("asin", ID),
    Column("category", String(64)),  # as the refund policy names it; NULL: not known
    Column("opened", Boolean),  # NULL: the counter did not ask
    Index("ix_return_items_sku", "sku"),
)

inspections = Table(
    "inspections", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("store_id", NODE, nullable=False),
    Column("return_id", ID, nullable=False),
    Column("node_id", NODE, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("grade", String(30), nullable=False),
    Column("reason", String(200)),
    Column("notes", Text, nullable=False, default=""),
    Column("photos", json_column(), nullable=False),
    Column("compliance_tags", json_column(), nullable=False),
    Column("inspected_by", ID),
    Column("inspected_at", UtcDateTime, nullable=False),
    Index("ix_inspections_return", "store_id", "return_id"),
)

dispositions = Table(
    "dispositions", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("store_id", NODE, nullable=False),
    Column("return_id", ID, nullable=False),
    Column("node_id", NODE, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("disposition", String(30), nullable=False),
    Column("location", ID),
    Column("decided_by", ID),
    Column("decided_at", UtcDateTime, nullable=False),
    Index("ix_dispositions_return", "store_id", "return_id"),
)

refunds = Table(
    "refunds", metadata,
    Column("store_id", NODE, primary_key=True),
    Column("refund_id", ID, primary_key=True),
    Column("return_id", ID, nullable=False),
    Column("node_id", NODE, nullable=False),
    Column("origin", String(10), nullable=False),  # store | pos | hub (hub.refunds.origin)
    Column("amount", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("order_id", ID),
    Column("marketplace_id", ID),
    Column("state", String(20), nullable=False),
    Column("outcome", String(20)),
    Column("approval_level", Integer),
    Column("reasons", json_column(), nullable=False),
    Column("requested_by", ID),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("decided_by", ID),
    Column("decided_at", UtcDateTime),
    Column("decision_reason", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("policy_version", Integer),
    Column("decision", json_column()),
    Column("customer_key", String(100)),
    Column("base_amount", Amount),
    Column("base_currency", String(3)),
    ForeignKeyConstraint(["store_id", "return_id"], ["returns.store_id", "returns.return_id"]),
    Index("ix_refunds_state", "state"),
    Index("ix_refunds_return", "store_id", "return_id"),
    Index("ix_refunds_queue", "state", "requested_at"),
    Index("ix_refunds_queue_level", "state", "approval_level", "requested_at"),
    Index("ix_refunds_queue_store", "state", "store_id", "requested_at"),
    Index("ix_refunds_queue_market", "state", "marketplace_id", "requested_at"),
    Index("ix_refunds_customer", "customer_key", "requested_at"),
    Index("ix_refunds_decided", "decided_at"),
    Index("ix_refunds_order", "order_id"),
    # migration 0044: the Amazon MFN refunds the refunds job claims (FBA ones stay approved)
    Index("ix_refunds_amazon_mfn", "state", "marketplace_id",
          postgresql_where=text("channel = 'amazon_mfn'"),
          sqlite_where=text("channel = 'amazon_mfn'")),
)

commands = Table(
    "commands", metadata,
    Column("command_id", String(36), primary_key=True),
    Column("store_id", NODE, nullable=False),
    Column("node_id", NODE, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("body", json_column(), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_sent_at", UtcDateTime),
    Column("send_count", Integer, nullable=False, default=0),
    Column("applied_at", UtcDateTime),
    Column("result", String(20)),
    Column("detail", Text),
    UniqueConstraint("store_id", "node_id", "seq", name="uq_commands_node_seq"),
    Index("ix_commands_unapplied", "applied_at", "last_sent_at"),
)

dead_letters = Table(
    "dead_letters", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("topic", String(300), nullable=False),
    Column("sender", String(100)),
    Column("reason", Text, nullable=False),
    Column("field", String(200)),
    Column("payload", LargeBinary, nullable=False),  # capped: hub.sync.ingest.dead.PAYLOAD_CAP
    Column("payload_size", BigInteger),  # the original size (NULL: stored before 0008)
    Column("payload_sha256", String(64)),  # of the original payload
    Column("resolved_at", UtcDateTime),  # an operator looked at it (acorn-hub dead-letters)
    Column("resolved_by", String(100)),
    Column("resolution", Text),
)

# An event of a known node that could not be stored or applied: its seq is taken, so the node's
# contiguous seq moves past it and its later events apply; its dead letter says why.
unprocessable_events = Table(
    "unprocessable_events", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("store_id", NODE, nullable=False),
    Column("node_id", NODE, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("message_id", String(64)),
    Column("received_at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("dead_letter_id", BigInteger),
    UniqueConstraint("store_id", "node_id", "seq", name="uq_unprocessable_node_seq"),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(30), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("username", String(64)),
    Column("region", String(40)),
    Column("city", String(60)),
    Column("store_id", NODE),
)

audit_log = Table(
    "audit_log", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("role", String(30), nullable=False),
    Column("action", String(60), nullable=False),
    Column("entity", String(30), nullable=False),
    Column("entity_id", String(200), nullable=False),
    Column("before", json_column()),
    Column("after", json_column()),
    Column("reason", Text),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_entity", "entity", "entity_id"),
)

audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)
