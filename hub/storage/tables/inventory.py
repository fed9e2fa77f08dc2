"""The stock view's tables (migration ``0019``): each store's quantity per SKU and state, and
every stock move the stores reported.

Rules:
- ``stock_levels`` is a projection of ``stock_moves`` (the hub's own sum per store, SKU and
  state), beside what the store said it held after its latest move (``reported_quantity``) and
  the time of that move (``as_of``): the figure is true as of then;
- ``stock_moves`` holds each applied ``stock.moved`` once (UNIQUE store, move id; and the event's
  node and seq), with the hub's quantities after it and the store's;
- ``node_stock`` (migration ``0040``) holds each node's own sum of its moves per SKU and state,
  kept by the database as moves are inserted (a trigger, whoever inserts them): the consistency
  check starts from it and takes back only the moves after a snapshot's seq, instead of summing
  the node's whole history for every page.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)

from hub.storage.tables.core import ID, NODE, metadata
from hub.storage.types import UtcDateTime

STATE = String(20)

stock_levels = Table(
    "stock_levels", metadata,
    Column("store_id", NODE, primary_key=True),
    Column("sku", ID, primary_key=True),
    Column("state", STATE, primary_key=True),
    Column("quantity", BigInteger, nullable=False),
    Column("reported_quantity", BigInteger),
    Column("as_of", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_stock_levels_sku", "sku"),
)

stock_moves = Table(
    "stock_moves", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("store_id", NODE, nullable=False),
    Column("node_id", NODE, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("move_id", ID, nullable=False),
    Column("sku", ID, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("from_state", STATE),
    Column("to_state", STATE),
    Column("reason", String(20), nullable=False),
    Column("pos_transaction_id", ID),
    Column("return_id", ID),
    Column("count_id", ID),
    Column("transfer_id", ID),
    Column("staff_id", ID),
    Column("at", UtcDateTime, nullable=False),
    Column("from_after", BigInteger),
    Column("to_after", BigInteger),
    Column("store_from_after", BigInteger),
    Column("store_to_after", BigInteger),
    Column("applied_at", UtcDateTime, nullable=False),
    UniqueConstraint("store_id", "move_id", name="uq_stock_moves_store_move"),
    UniqueConstraint("store_id", "node_id", "seq", name="uq_stock_moves_node_seq"),
    Index("ix_stock_moves_sku_at", "sku", "at"),
    Index("ix_stock_moves_store_at", "store_id", "at"),
    # the sales velocity's window (migration 0041): the POS sales of the last days by time
    Index("ix_stock_moves_pos_sale_at", "at", postgresql_where=text("reason = 'pos_sale'"),
          sqlite_where=text("reason = 'pos_sale'")),
)

# Each node's figure per SKU and state: the sum of its moves (``to_state`` +quantity,
# ``from_state`` -quantity), filled by a trigger on ``stock_moves`` (migration ``0040``). Its SKUs
# sort in byte order on PostgreSQL too (collation "C"), as snapshot pages' SKU ranges do: the
# key's index then finds a page's range instead of every SKU of the node.
node_stock = Table(
    "node_stock", metadata,
    Column("store_id", NODE, primary_key=True),
    Column("node_id", NODE, primary_key=True),
    Column("sku", ID.with_variant(String(64, collation="C"), "postgresql"), primary_key=True),
    Column("state", STATE, primary_key=True),
    Column("quantity", BigInteger, nullable=False),
)

# The consistency check (migration ``0022``, ``hub.inventory.check``): one row per store node, SKU
# and state where a store's snapshot disagreed with the hub's figures at the snapshot's seq.
# ``difference`` = store - hub. While ``status`` is open, recount or investigate, a later
# snapshot updates the row (or clears it when they agree); ``accepted`` rows are adjustments the
# hub's figures carry from ``as_of_seq`` on.
stock_differences = Table(
    "stock_differences", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("store_id", NODE, nullable=False),
    Column("node_id", NODE, nullable=False),
    Column("sku", ID, nullable=False),
    Column("state", STATE, nullable=False),
    Column("store_quantity", BigInteger, nullable=False),
    Column("hub_quantity", BigInteger, nullable=False),
    Column("difference", BigInteger, nullable=False),
    Column("snapshot_id", ID, nullable=False),
    Column("as_of_seq", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("found_at", UtcDateTime, nullable=False),
    Column("checked_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", ID),
    Column("note", String(2000)),
    # migration 0026: how the snapshot was authenticated (``signature``: the node's key;
    # ``broker``: its broker identity only), and the recount the hub asked for
    Column("authentication", String(20)),
    Column("count_task_id", ID),
    Column("recounted_at", UtcDateTime),
    Column("recount_count_id", ID),
    Column("recount_counted", BigInteger),
    Index("ix_stock_differences_open", "status", "store_id"),
    Index("ix_stock_differences_key", "store_id", "node_id", "sku", "state"),
)

# Snapshot pages the check refused (migration ``0026``, ``hub.inventory.check``): a node that has
# a key on record sent a page whose signature is missing or does not verify. No difference is
# built on such a page; each row alerts until someone dismisses it (audited).
stock_snapshot_refusals = Table(
    "stock_snapshot_refusals", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("store_id", NODE, nullable=False),
    Column("node_id", NODE, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("snapshot_id", ID, nullable=False),
    Column("page", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("found_at", UtcDateTime, nullable=False),
    Column("dismissed_at", UtcDateTime),
    Column("dismissed_by", ID),
    Column("note", String(2000)),
    UniqueConstraint("store_id", "node_id", "seq", name="uq_stock_snapshot_refusals_seq"),
    Index("ix_stock_snapshot_refusals_open", "status"),
)
