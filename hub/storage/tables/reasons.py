"""Return reasons (migrations ``0030``, ``0039``; ``hub.finance.reasons``).

Rules:
- ``return_reasons`` holds one row per return line at the hub, keyed by (``source``,
  ``line_key``): a store line ``store_id/return_id/line_no``, an Amazon MFN line
  ``account/rma_id/sku``, an FBA line ``account/row_key``; the link columns name the line's row;
  what never changes about a line (SKU, quantity, store, marketplace, when, its raw reason) is
  copied here so the analytics read one table; what may change (a store's region, a SKU's
  category, refunds) is joined when read;
- ``reason``/``sub_reason`` are a pair of ``hub.finance.reasons.taxonomy``; ``method`` says what
  mapped it; text-mapped rows carry the rules' version and are mapped again when rules change;
- ``counted`` is false for an Amazon MFN line that a store also took in (same order and SKU, a
  store line of channel ``amazon_mfn``): the return counts once, as the store's line;
- ``reason_queue`` names the returns whose store lines wait to be classified (one row a return,
  put there by a trigger on ``return_items``, deleted once classified);
- ``reason_rules`` is append-only: one row per published version, the highest is active.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, true

from hub.storage.tables.core import ID, NODE, document_table, metadata
from hub.storage.types import UtcDateTime

return_reasons = Table(
    "return_reasons",
    metadata,
    Column("source", String(12), primary_key=True),
    Column("line_key", String(200), primary_key=True),
    Column("store_id", NODE),
    Column("return_id", ID),
    Column("line_no", Integer),
    Column("account", String(64)),
    Column("amazon_ref", String(64)),  # the RMA id (MFN) or the row key (FBA)
    Column("channel", String(20), nullable=False),
    Column("marketplace_id", String(20)),
    Column("order_id", ID),
    Column("sku", ID, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM of occurred_at (UTC)
    Column("raw_reason", String(500), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("sub_reason", String(40), nullable=False),
    Column("method", String(20), nullable=False),
    Column("rule", Integer),
    Column("rules_version", Integer),
    Column("classified_at", UtcDateTime, nullable=False),
    # false: an MFN report line whose return a store took in (the store's line counts it)
    Column("counted", Boolean, nullable=False, server_default=true()),
    Index("ix_return_reasons_month", "month", "reason"),
    Index("ix_return_reasons_reason", "reason", "sub_reason"),
    Index("ix_return_reasons_sku", "sku"),
    Index("ix_return_reasons_store", "store_id", "return_id"),
    Index("ix_return_reasons_method", "method"),
    Index("ix_return_reasons_order", "order_id", "sku"),
)

# Returns whose lines wait for a reason: a trigger on ``return_items`` (migration 0039) names the
# return of every line inserted, whoever inserts it; the classification pass takes them in
# batches and deletes them as it classifies (``hub.finance.reasons.store``). What the pass looks
# for is what waits here, not an anti-join over every line ever classified.
reason_queue = Table(
    "reason_queue",
    metadata,
    Column("store_id", NODE, primary_key=True),
    Column("return_id", ID, primary_key=True),
)

reason_rules = document_table("reason_rules")
