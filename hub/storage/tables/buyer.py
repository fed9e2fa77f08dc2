"""Tables of the buyer's return page (migration ``0029``).

Rules:
- ``buyer_returns``: one row per return a buyer booked online, keyed by its return code (also
  the RMA id the chosen store's counter scans); the order, the store, the items chosen (SKU,
  quantity, unit price) and when, and the page's id for the booking (``request_id``: a repeat
  answers the same code); nothing of the buyer (no name, address, postcode or client
  address) is kept;
- ``buyer_throttle``: the page's rate limiter, one fixed-window count per subject (a hashed
  client address, or ``*`` for every client together), see ``hub.returns.buyer_throttle``.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, UniqueConstraint

from hub.storage.tables.core import NODE, metadata
from hub.storage.types import UtcDateTime, json_column

buyer_returns = Table(
    "buyer_returns",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("account", String(64), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("marketplace_id", String(20), nullable=False),
    Column("store_id", NODE, nullable=False),
    Column("items", json_column(), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("request_id", String(64)),
    Index("ix_buyer_returns_order_id", "order_id"),
    UniqueConstraint("order_id", "request_id", name="uq_buyer_returns_request"),
)

buyer_throttle = Table(
    "buyer_throttle",
    metadata,
    Column("subject", String(80), primary_key=True),
    Column("hits", Integer, nullable=False),
    Column("window_started_at", UtcDateTime, nullable=False),
)
