"""When a store can ship: cut-off, opening hours and daily capacity, in the store's own time zone
(pure).

Rules:
- ``now`` is turned into the store's wall clock with ``zoneinfo`` (DST needs nothing special);
- a day's hours are its exception's when the date has one, else its weekday's;
- today can ship when the local time is before the cut-off and the store is open, or opens
  later, in an interval that starts before the cut-off and has not closed yet;
- a later day can ship when the store opens that day before the cut-off;
- a day that can ship but whose packages already reach the store's capacity is skipped;
- the first day within ``horizon`` days after today that passes wins; none: the store is
  dropped, with one note per day that failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hub.inventory.store_records import WEEKDAYS, Interval, StoreRecord, minutes


def _hours(record: StoreRecord, day: date) -> tuple[Interval, ...]:
    for exception in record.exceptions:
        if exception.date == day:
            return exception.hours
    return record.hours.get(WEEKDAYS[day.weekday()], ())


def _ships(intervals: tuple[Interval, ...], cutoff: int, now_minute: int | None) -> str | None:
    """None when the day can ship, else why not."""
    if not intervals:
        return "closed"
    if now_minute is not None and now_minute >= cutoff:
        return "after the cut-off"
    after = -1 if now_minute is None else now_minute
    if any(minutes(i.opens) < cutoff and minutes(i.closes) > after for i in intervals):
        return None
    return "closed before the cut-off" if now_minute is not None else "opens after the cut-off"


def open_days(record: StoreRecord, now: datetime, cutoff: str,
              horizon: int) -> tuple[tuple[date, str | None], ...]:
    """Each local date from today to ``horizon`` days later, with why it cannot ship (None:
    it can, capacity aside)."""
    if record.time_zone is None:
        return ()
    local = now.astimezone(ZoneInfo(record.time_zone))
    today = local.date()
    limit = minutes(cutoff)
    days = []
    for offset in range(horizon + 1):
        day = today + timedelta(days=offset)
        now_minute = local.hour * 60 + local.minute if offset == 0 else None
        days.append((day, _ships(_hours(record, day), limit, now_minute)))
    return tuple(days)


def first_day(days: tuple[tuple[date, str | None], ...], capacity: int,
              load: Mapping[date, int]) -> tuple[date | None, list[str]]:
    """The first of ``days`` that can ship and has capacity left, and a note for each earlier
    one."""
    notes: list[str] = []
    for day, why in days:
        if why is None and load.get(day, 0) >= capacity:
            why = f"capacity used up ({load.get(day, 0)} of {capacity})"
        if why is None:
            return day, notes
        notes.append(f"{day.isoformat()} {WEEKDAYS[day.weekday()]}: {why}")
    return None, notes


def ship_day(record: StoreRecord, now: datetime, cutoff: str, capacity: int,
             load: Mapping[date, int], horizon: int) -> tuple[date | None, list[str]]:
    """The first local date the store can ship, and a note for each earlier date that failed."""
    if record.time_zone is None:
        return None, ["no time zone in its record"]
    return first_day(open_days(record, now, cutoff, horizon), capacity, load)
