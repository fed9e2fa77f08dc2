"""Stores that take returns, nearest first from the order's destination postcode.

Rules: a store is offered when its record takes returns, has coordinates and an address in the
destination's country, and the hub knows at least one of its nodes (the expected return has
somewhere to go); distance is the haversine from the postcode's centroid
(``hub.inventory.routing``: imported table, else the shipped one), rounded to 0.1 km; a postcode
no table knows lists the country's stores by id, without distances. Opening hours are the
store's week and whether it is open now (its own time zone), plus today's exception note if any.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from hub.inventory.routing.geo import haversine_km
from hub.inventory.routing.postcodes import Lookup
from hub.inventory.store_records import WEEKDAYS, StoreRecord, get_record, open_now
from hub.storage.tables.core import nodes
from hub.storage.tables.inventory_rules import store_records

MAX_STORES = 5


@dataclass(frozen=True)
class StoreView:
    """One store the buyer may return to."""

    store_id: str
    street: str
    postal_code: str
    city: str
    country: str
    distance_km: float | None
    open_now: bool | None
    hours: tuple[tuple[str, str], ...]  # (weekday, "09:00-18:00, 19:00-21:00" or "closed")
    today_note: str | None


def _hours(record: StoreRecord) -> tuple[tuple[str, str], ...]:
    return tuple(
        (day, ", ".join(f"{i.opens}-{i.closes}" for i in record.hours.get(day, ())) or "closed")
        for day in WEEKDAYS)


def _today_note(record: StoreRecord, now: datetime) -> str | None:
    if record.time_zone is None:
        return None
    today = now.astimezone(ZoneInfo(record.time_zone)).date()
    for exception in record.exceptions:
        if exception.date == today:
            return exception.note or ("closed today" if not exception.hours else "special hours")
    return None


def _candidates(conn: Connection) -> list[str]:
    with_nodes = set(conn.execute(select(nodes.c.store_id).distinct()).scalars())
    ids = conn.execute(select(store_records.c.store_id).where(
        store_records.c.returns.is_(True), store_records.c.latitude.is_not(None),
        store_records.c.street.is_not(None)).order_by(store_records.c.store_id)).scalars()
    return [store_id for store_id in ids if store_id in with_nodes]


def nearby_stores(conn: Connection, country: str, postal_code: str, now: datetime,
                  limit: int = MAX_STORES) -> tuple[StoreView, ...]:
    """Up to ``limit`` stores taking returns, nearest first."""
    centre = Lookup(conn).centroid(country, postal_code)
    views = []
    for store_id in _candidates(conn):
        found = get_record(conn, store_id)
        record = found[0] if found is not None else None
        if record is None or record.address is None or record.coordinates is None:
            continue
        address, spot = record.address, record.coordinates
        if address.country != country:
            continue
        distance = None if centre is None else round(haversine_km(
            centre[0], centre[1], float(spot.latitude), float(spot.longitude)), 1)
        views.append(StoreView(store_id, address.street, address.postal_code, address.city,
                               address.country, distance, open_now(record, now),
                               _hours(record), _today_note(record, now)))
    views.sort(key=lambda v: (v.distance_km is None, v.distance_km or 0.0, v.store_id))
    return tuple(views[:limit])
