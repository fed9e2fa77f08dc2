"""Store records: address, coordinates, manager, opening hours with exceptions, time zone and
capabilities of each store, and "is it open now?".

Rules:
- a record is validated whole (``StoreRecord``: frozen, unknown fields refused, each bad field
  named); coordinates are exact decimals (at most 6 places, latitude −90…90, longitude
  −180…180); a country is an ISO 3166 alpha-2 code; a time zone an IANA zone;
- opening hours are local wall-clock intervals per weekday (``opens`` < ``closes``, ``24:00``
  closes at midnight, intervals of a day sorted and not overlapping; past midnight is written as
  two days); an exception replaces one date's hours (``closed: true``, or its own ``hours``);
- ``is_open`` is pure: the UTC instant is turned into the store's wall clock with ``zoneinfo``,
  so DST days need nothing special (a 09:00 opening is 09:00 local on both sides of a change);
- the time zone is ``stores.time_zone`` (also what nodes are told at enrolment): the record reads
  and writes that column instead of keeping a copy; a store not yet known is created;
- every change is audited as ``store.record_updated`` (entity ``store``) with before and after,
  in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date as Date
from datetime import datetime, time
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Connection, Engine, Select, select, update

from hub.access.users import Actor
from hub.errors import InputError
from hub.storage import notices
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import writing
from hub.storage.tables.core import stores
from hub.storage.tables.inventory_rules import store_records
from protocol import check_id

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ACTION = "store.record_updated"


def _clock(value: str) -> str:
    if value == "24:00":
        return value
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day (HH:MM, e.g. 09:30)") from None
    if len(value) != 5 or parsed.second:
        raise ValueError(f"{value!r}: write times as HH:MM")
    return value


def _six_places(value: Decimal) -> Decimal:
    if not value.is_finite() or value != round(value, 6):
        raise ValueError("at most 6 decimal places")
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return value


Clock = Annotated[str, AfterValidator(_clock)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Zone = Annotated[str, AfterValidator(_zone)]


def minutes(clock: str) -> int:
    """Minutes after local midnight of an ``HH:MM`` time (``24:00`` is 1440)."""
    hours, mins = clock.split(":")
    return int(hours) * 60 + int(mins)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Interval(_Strict):
    """Open from ``opens`` until ``closes`` (local wall clock, ``closes`` exclusive)."""

    opens: Clock
    closes: Clock

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if minutes(self.closes) <= minutes(self.opens):
            raise ValueError("closes must be after opens (past midnight: split over two days)")
        return self


Day = Annotated[tuple[Interval, ...], Field(max_length=6)]


def _no_overlap(intervals: tuple[Interval, ...]) -> tuple[Interval, ...]:
    for earlier, later in pairwise(intervals):
        if minutes(later.opens) < minutes(earlier.closes):
            raise ValueError("intervals of a day must be in order and must not overlap")
    return intervals


DayHours = Annotated[Day, AfterValidator(_no_overlap)]


class HoursException(_Strict):
    """One date whose hours differ: closed, or open at its own hours."""

    date: Date
    closed: bool = False
    hours: DayHours = ()
    note: Annotated[str, Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _closed_or_hours(self) -> HoursException:
        if self.closed == bool(self.hours):
            raise ValueError("give either closed: true or the day's hours, not both or neither")
        return self


class Address(_Strict):
    """Where the store is."""

    street: Text
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    city: Text
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Coordinates(_Strict):
    """Latitude and longitude in decimal degrees (WGS 84)."""

    latitude: Annotated[Decimal, Field(ge=-90, le=90), AfterValidator(_six_places)]
    longitude: Annotated[Decimal, Field(ge=-180, le=180), AfterValidator(_six_places)]


class Manager(_Strict):
    """Who runs the store and how to reach them."""

    name: Text
    contact: Text


class Capabilities(_Strict):
    """What the store does for customers beyond its counter."""

    ship_from_store: bool = False
    pickup: bool = False
    returns: bool = True


class StoreRecord(_Strict):
    """A store's record as the hub keeps it."""

    address: Address | None = None
    coordinates: Coordinates | None = None
    manager: Manager | None = None
    time_zone: Zone | None = None
    hours: dict[Weekday, DayHours] = Field(default_factory=dict)
    exceptions: tuple[HoursException, ...] = Field(default=(), max_length=400)
    capabilities: Capabilities = Capabilities()

    @model_validator(mode="after")
    def _dates_once(self) -> StoreRecord:
        dates = [e.date for e in self.exceptions]
        if len(set(dates)) != len(dates):
            raise ValueError("exceptions: each date at most once")
        return self


def is_open(hours: Mapping[Weekday, tuple[Interval, ...]], exceptions: tuple[HoursException, ...],
            time_zone: str, at: datetime) -> bool:
    """True when the store is open at the UTC instant ``at`` (pure; DST-safe)."""
    if at.tzinfo is None:
        raise ValueError("is_open needs an aware time")
    local = at.astimezone(ZoneInfo(time_zone))
    today = next((e for e in exceptions if e.date == local.date()), None)
    intervals = today.hours if today is not None else hours.get(WEEKDAYS[local.weekday()], ())
    now = local.hour * 60 + local.minute
    return any(minutes(i.opens) <= now < minutes(i.closes) for i in intervals)


def open_now(record: StoreRecord, at: datetime) -> bool | None:
    """Whether the store is open at ``at``; None when its time zone is unknown."""
    if record.time_zone is None:
        return None
    return is_open(record.hours, record.exceptions, record.time_zone, at)


def _record_of(row: Any, time_zone: str | None) -> StoreRecord:
    data: dict[str, Any] = {"time_zone": time_zone, "hours": row.hours,
                            "exceptions": row.exceptions}
    if row.street is not None:
        data["address"] = {"street": row.street, "postal_code": row.postal_code,
                           "city": row.city, "country": row.country}
    if row.latitude is not None:
        data["coordinates"] = {"latitude": row.latitude, "longitude": row.longitude}
    if row.manager_name is not None:
        data["manager"] = {"name": row.manager_name, "contact": row.manager_contact}
    data["capabilities"] = {"ship_from_store": row.ship_from_store, "pickup": row.pickup,
                            "returns": row.returns}
    return StoreRecord.model_validate(data)


def get_record(conn: Connection, store_id: str) -> tuple[StoreRecord, dict[str, Any]] | None:
    """A store's record and who changed it last (``updated_at``, ``updated_by``), or None for a
    store the hub does not know; a known store without a record has an empty one."""
    row = conn.execute(_with_records().where(stores.c.store_id == store_id)).first()
    if row is None:
        return None
    return _from_row(row), {"updated_at": row.updated_at, "updated_by": row.updated_by}


def active_records(conn: Connection) -> dict[str, StoreRecord]:
    """Every store not decommissioned and its record (an empty one where it has none), by store
    id in order: one statement, for routing, which needs them all each time it routes."""
    rows = conn.execute(_with_records().where(stores.c.decommissioned_at.is_(None))
                        .order_by(stores.c.store_id))
    return {row[0]: _from_row(row) for row in rows}


def _with_records() -> Select[Any]:
    """Stores (id, time zone) beside their records, NULLs where a store has none."""
    return (select(stores.c.store_id, stores.c.time_zone, store_records)
            .select_from(stores.outerjoin(store_records,
                                          store_records.c.store_id == stores.c.store_id)))


def _from_row(row: Any) -> StoreRecord:
    """A ``_with_records`` row's record (row[2], the record's own store id, is None where the
    store has none: an empty record in the store's time zone)."""
    return StoreRecord(time_zone=row[1]) if row[2] is None else _record_of(row, row[1])


def _columns(record: StoreRecord) -> dict[str, Any]:
    address, spot, manager = record.address, record.coordinates, record.manager
    dumped = record.model_dump(mode="json")
    return {
        "street": address.street if address else None,
        "postal_code": address.postal_code if address else None,
        "city": address.city if address else None,
        "country": address.country if address else None,
        "latitude": format(spot.latitude, "f") if spot else None,
        "longitude": format(spot.longitude, "f") if spot else None,
        "manager_name": manager.name if manager else None,
        "manager_contact": manager.contact if manager else None,
        "hours": dumped["hours"],
        "exceptions": dumped["exceptions"],
        **record.capabilities.model_dump(),
    }


def set_record(engine: Engine, store_id: str, record: StoreRecord, actor: Actor) -> StoreRecord:
    """Replace a store's record (creating the store if new); audited with before and after."""
    try:
        check_id(store_id, "store id")
    except ValueError as err:
        raise InputError(str(err), field="store") from err
    with writing(engine) as tx:
        found = get_record(tx.conn, store_id)
        if found is None:
            tx.conn.execute(stores.insert().values(store_id=store_id, created_at=tx.now))
        before = found[0] if found is not None else None
        values = {**_columns(record), "updated_at": tx.now, "updated_by": actor.name}
        if found is not None and found[1]["updated_at"] is not None:
            tx.conn.execute(update(store_records)
                            .where(store_records.c.store_id == store_id).values(values))
        else:
            tx.conn.execute(store_records.insert().values(store_id=store_id, **values))
        if before is None or before.time_zone != record.time_zone:
            tx.conn.execute(update(stores).where(stores.c.store_id == store_id)
                            .values(time_zone=record.time_zone))
            notices.store_config_changed(tx.conn)  # nodes are told their time zone
        tx.audit(AuditDraft(
            actor.name, actor.role, ACTION, "store", store_id,
            before.model_dump(mode="json") if before else None,
            record.model_dump(mode="json"),
        ))
    return record
