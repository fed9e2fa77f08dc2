"""Tables of transfers between stores (migration ``0028``, ``hub.inventory.transfers``).

Rules:
- ``transfers``: one row per transfer order, where it stands (``status``: requested, shipped,
  received, received_with_difference), the two stores and the node each task went to, and when
  each step happened (``delivered_at``: the sender booked its in-transit units out);
- ``transfer_lines``: per transfer and SKU the units requested and, summed from the stores'
  ``stock.moved`` events, shipped, announced, received into sellable, lost (the shortfall) and
  surplus at the receiver, delivered (booked out) at the sender;
- ``transfer_moves``: each store move the hub counted for a transfer, once (store, move id);
- ``transfer_price_rules`` is append-only, the highest version is active (as the routing rules);
- ``transfer_settlement_lines``: one priced line per received transfer and SKU, with the rule
  that priced it and why, its month (UTC ``YYYY-MM`` of the receipt) and the exchange rate used.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, UniqueConstraint

from hub.storage.tables.core import ID, NODE, document_table, metadata
from hub.storage.types import Amount, UtcDateTime, json_column

transfers = Table(
    "transfers",
    metadata,
    Column("transfer_id", ID, primary_key=True),
    Column("from_store", NODE, nullable=False),
    Column("to_store", NODE, nullable=False),
    Column("status", String(30), nullable=False),
    Column("note", String(2000)),
    Column("send_node", NODE, nullable=False),
    Column("receive_node", NODE),
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("shipped_at", UtcDateTime),
    Column("received_at", UtcDateTime),
    Column("delivered_at", UtcDateTime),
    Index("ix_transfers_status", "status"),
    Index("ix_transfers_received_at", "received_at"),
)

transfer_lines = Table(
    "transfer_lines",
    metadata,
    Column("transfer_id", ID, primary_key=True),
    Column("sku", ID, primary_key=True),
    Column("requested", Integer, nullable=False),
    Column("shipped", Integer, nullable=False),
    Column("announced", Integer, nullable=False),
    Column("received", Integer, nullable=False),
    Column("lost", Integer, nullable=False),
    Column("surplus", Integer, nullable=False),
    Column("delivered", Integer, nullable=False),
)

transfer_moves = Table(
    "transfer_moves",
    metadata,
    Column("store_id", NODE, primary_key=True),
    Column("move_id", ID, primary_key=True),
    Column("transfer_id", ID, nullable=False),
    Column("sku", ID, nullable=False),
    Column("counts_as", String(20), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_transfer_moves_transfer", "transfer_id"),
)

transfer_price_rules = document_table("transfer_price_rules")

transfer_settlement_lines = Table(
    "transfer_settlement_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("transfer_id", ID, nullable=False),
    Column("sku", ID, nullable=False),
    Column("month", String(7), nullable=False),
    Column("from_store", NODE, nullable=False),
    Column("to_store", NODE, nullable=False),
    Column("from_region", String(40)),
    Column("to_region", String(40)),
    Column("category", String(40)),
    Column("quantity", Integer, nullable=False),
    Column("difference", Integer, nullable=False),
    Column("unit_price", Amount),
    Column("amount", Amount),
    Column("currency", String(3), nullable=False),
    Column("rule", String(100), nullable=False),
    Column("why", String(1000), nullable=False),
    Column("fx", json_column()),
    Column("rules_version", Integer, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("transfer_id", "sku", name="uq_transfer_settlement_lines_line"),
    Index("ix_transfer_settlement_lines_month", "month"),
)

__all__ = ["transfer_lines", "transfer_moves", "transfer_price_rules",
           "transfer_settlement_lines", "transfers"]
