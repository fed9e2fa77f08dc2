"""A package one store ships for an order of another region, booked as a virtual transfer.

Rules:
- an order belongs to the region of the store nearest its destination: among the stores not
  decommissioned, in the destination's country, with coordinates and a region, the one at the
  least haversine distance from the destination's postal-code centroid (ties: the lower store
  id); the destination's centroid unknown, or no such store: the order belongs to no region and
  nothing is booked;
- a package shipped by a store of another region (or of none) is a transfer from the shipping
  store to that nearest store without goods moving between them: its lines are priced by the
  transfer price rules (``book``, the same rules and settlement as a received transfer) in the
  month the package shipped, under the transfer id ``PKG-<package id>`` — the nearest store
  owes the shipping store, so the order's region pays the region that filled it;
- booked once per package (a package recorded again, e.g. with a corrected tracking number, is
  not booked twice); audited ``transfer.order_filled`` (entity ``package``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from hub.inventory.routing.geo import haversine_km
from hub.inventory.routing.postcodes import Lookup
from hub.inventory.transfers.book import Counted, Rates, book, no_rates
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import Tx
from hub.storage.tables.core import stores
from hub.storage.tables.inventory_rules import store_records
from hub.storage.tables.routing import routed_orders
from hub.storage.tables.transfers import transfer_settlement_lines

PREFIX = "PKG-"
ACTION = "transfer.order_filled"


@dataclass(frozen=True, slots=True)
class Spot:
    """A store that can own an order's region: where it is, and its region."""

    store_id: str
    latitude: float
    longitude: float
    region: str


def nearest(latitude: float, longitude: float, spots: Iterable[Spot]) -> Spot | None:
    """The spot nearest the point (ties: the lower store id), or None when there is none."""
    ranked = sorted(spots, key=lambda s: (
        haversine_km(s.latitude, s.longitude, latitude, longitude), s.store_id))
    return ranked[0] if ranked else None


def _spots(conn: Connection, country: str) -> list[Spot]:
    r, s = store_records.c, stores.c
    rows = conn.execute(select(r.store_id, r.latitude, r.longitude, s.region)
                        .join(stores, s.store_id == r.store_id)
                        .where(r.country == country, r.latitude.is_not(None),
                               s.decommissioned_at.is_(None), s.region.is_not(None)))
    return [Spot(row.store_id, float(row.latitude), float(row.longitude), row.region)
            for row in rows if row.region]


def home_store(conn: Connection, account: str, order_id: str) -> tuple[Spot, str] | None:
    """The store nearest the order's destination, and the destination as text; None when the
    order has no known destination or its country has no store with a region."""
    order = conn.execute(select(routed_orders.c.country, routed_orders.c.postal_code).where(
        routed_orders.c.account == account, routed_orders.c.order_id == order_id)).first()
    if order is None or not order.country or not order.postal_code:
        return None
    centroid = Lookup(conn).centroid(order.country, order.postal_code)
    if centroid is None:
        return None
    found = nearest(centroid[0], centroid[1], _spots(conn, order.country))
    return (found, f"{order.postal_code} ({order.country})") if found else None


def book_package(tx: Tx, account: str, order_id: str, package_id: str, store_id: str,
                 lines: Sequence[tuple[str, int]], shipped_at: datetime, actor: str,
                 rates: Rates = no_rates) -> list[dict[str, Any]] | None:
    """Book the package as a virtual transfer when it filled another region's order (see the
    module rules); the priced lines, or None when nothing was booked."""
    transfer_id = PREFIX + package_id
    booked = tx.conn.execute(select(transfer_settlement_lines.c.id).where(
        transfer_settlement_lines.c.transfer_id == transfer_id).limit(1)).first()
    home = None if booked else home_store(tx.conn, account, order_id)
    if home is None:
        return None
    spot, destination = home
    shipper = tx.conn.scalar(select(stores.c.region).where(stores.c.store_id == store_id))
    if spot.store_id == store_id or shipper == spot.region:
        return None
    why = (f"order {order_id} to {destination} belongs to region {spot.region} (nearest store "
           f"{spot.store_id}); {store_id} of region {shipper or '-'} shipped package "
           f"{package_id}: ")
    priced = book(tx.conn, transfer_id, store_id, spot.store_id,
                  [Counted(sku, quantity) for sku, quantity in lines], shipped_at,
                  rates(tx.conn, shipped_at.date()), why)
    tx.audit(AuditDraft(actor, "store", ACTION, "package", package_id, None, jsonable({
        "order_id": order_id, "from_store": store_id, "to_store": spot.store_id,
        "from_region": shipper, "to_region": spot.region, "transfer_id": transfer_id,
        "lines": priced})))
    return priced
