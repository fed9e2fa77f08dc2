"""Tables of picking at the stores and shipment confirmation to Amazon (migration ``0027``).

Rules:
- ``pick_tasks``: one row per package the hub asked a store's node to pick
  (``order.pick.task``), keyed by the package id (stable for the order and the store); its
  status follows the node's events: open, shipped, given back;
- ``package_shipments``: one row per package a store shipped (``order.shipped``), with its
  ``reference_id`` (Amazon's ``packageReferenceId``: a positive number unique within the order,
  1, 2, ... in the order the hub heard of the packages, never changed after): carrier,
  tracking number and ship date, and the state of its ``confirmShipment`` to Amazon:
  ``pending`` (to send), ``sending`` (the intent is recorded before the call: a hub that dies
  after it sends the same ``packageReferenceId`` again, which Amazon treats as an edit),
  ``confirmed`` (204), ``failed`` (Amazon refused it; the reason is kept). A resent event with
  another tracking number sets it back to ``pending`` so Amazon's package is edited.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, text

from hub.storage.tables.core import NODE, metadata
from hub.storage.types import UtcDateTime, json_column

ID = String(64)

pick_tasks = Table(
    "pick_tasks",
    metadata,
    Column("package_id", ID, primary_key=True),
    Column("account", ID, nullable=False),
    Column("order_id", ID, nullable=False),
    Column("store_id", NODE, nullable=False),
    Column("node_id", NODE, nullable=False),
    Column("command_id", ID, nullable=False),
    Column("lines", json_column(), nullable=False),
    Column("ship_by", UtcDateTime),
    Column("status", String(20), nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Index("ix_pick_tasks_order", "account", "order_id"),
    # migration 0044: the open tasks by ship-by (``/metrics``' packages due soon)
    Index("ix_pick_tasks_open", "ship_by", postgresql_where=text("status = 'open'"),
          sqlite_where=text("status = 'open'")),
)

package_shipments = Table(
    "package_shipments",
    metadata,
    Column("package_id", ID, primary_key=True),
    Column("account", ID, nullable=False),
    Column("order_id", ID, nullable=False),
    Column("marketplace_id", String(20), nullable=False),
    Column("reference_id", Integer, nullable=False),
    Column("store_id", NODE, nullable=False),
    Column("node_id", NODE, nullable=False),
    Column("carrier", ID, nullable=False),
    Column("tracking_number", ID, nullable=False),
    Column("shipped_at", UtcDateTime, nullable=False),
    Column("lines", json_column(), nullable=False),
    Column("confirm_state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("intent_at", UtcDateTime),
    Column("confirmed_at", UtcDateTime),
    Column("last_error", Text),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_package_shipments_state", "account", "confirm_state"),
    Index("ix_package_shipments_order", "account", "order_id"),  # migration 0042
    # migration 0044: the shipments not confirmed (``/metrics``)
    Index("ix_package_shipments_unconfirmed", "confirm_state",
          postgresql_where=text("confirm_state <> 'confirmed'"),
          sqlite_where=text("confirm_state <> 'confirmed'")),
)
