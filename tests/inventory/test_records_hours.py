"""Opening hours: "open now?" as a pure function of hours, exceptions and time zone (DST-safe),
and the record's validation of hours, coordinates and zones."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from hub.inventory.store_records import HoursException, StoreRecord, is_open, open_now

WEEK = {
    "mon": [{"opens": "09:00", "closes": "18:00"}],
    "sat": [{"opens": "10:00", "closes": "13:00"}, {"opens": "14:00", "closes": "24:00"}],
    "sun": [{"opens": "02:30", "closes": "04:00"}],
}
BERLIN = StoreRecord.model_validate({"time_zone": "Europe/Berlin", "hours": WEEK,
                                     "exceptions": [{"date": "2026-12-07", "closed": True}]})


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("case", "at", "expected"), [
    ("Monday 09:00 Berlin in winter (08:00Z)", utc(2026, 11, 30, 8, 0), True),
    ("Monday 08:59 Berlin in winter", utc(2026, 11, 30, 7, 59), False),
    ("Monday 17:59 Berlin", utc(2026, 11, 30, 16, 59), True),
    ("Monday 18:00 Berlin: closes is exclusive", utc(2026, 11, 30, 17, 0), False),
    ("Monday 09:00 Berlin in summer (07:00Z)", utc(2026, 6, 1, 7, 0), True),
    ("Monday 08:00 Berlin in summer (06:00Z)", utc(2026, 6, 1, 6, 0), False),
    ("a closed date (Monday 7 December)", utc(2026, 12, 7, 10, 0), False),
    ("Saturday lunch break", utc(2026, 11, 28, 12, 30), False),
    ("Saturday 23:59 until 24:00", utc(2026, 11, 28, 22, 59), True),
    ("Sunday after Saturday's midnight", utc(2026, 11, 28, 23, 0), False),
    ("a day without hours (Tuesday)", utc(2026, 12, 1, 10, 0), False),
    # 29 March 2026: Berlin springs forward at 02:00 → 03:00; 01:30Z is 03:30 local
    ("spring-forward Sunday, 03:30 local", utc(2026, 3, 29, 1, 30), True),
    ("spring-forward Sunday, 04:00 local", utc(2026, 3, 29, 2, 0), False),
    # 25 October 2026: back at 03:00 → 02:00; 00:45Z is 02:45 CEST, 01:45Z is 02:45 CET
    ("fall-back Sunday, first 02:45", utc(2026, 10, 25, 0, 45), True),
    ("fall-back Sunday, second 02:45", utc(2026, 10, 25, 1, 45), True),
    ("fall-back Sunday, 04:00 local (03:00Z)", utc(2026, 10, 25, 3, 0), False),
])
def test_open_now_by_table(case: str, at: datetime, expected: bool) -> None:
    assert open_now(BERLIN, at) is expected, case


def test_an_exception_with_its_own_hours_replaces_the_weekday() -> None:
    special = HoursException.model_validate(
        {"date": "2026-12-24", "hours": [{"opens": "08:00", "closes": "12:00"}]})
    hours = BERLIN.hours
    assert is_open(hours, (special,), "America/New_York", utc(2026, 12, 24, 14, 0))  # 09:00 NY
    assert not is_open(hours, (special,), "America/New_York", utc(2026, 12, 24, 18, 0))
    assert special.date == date(2026, 12, 24)


def test_without_a_time_zone_open_now_is_unknown() -> None:
    assert open_now(StoreRecord(), utc(2026, 11, 30, 8, 0)) is None


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"hours": {"mon": [{"opens": "18:00", "closes": "09:00"}]}}, "hours.mon.0",
     "closes must be after opens"),
    ({"hours": {"mon": [{"opens": "9am", "closes": "18:00"}]}}, "hours.mon.0.opens",
     "not a time of day"),
    ({"hours": {"mon": [{"opens": "09:00", "closes": "13:00"},
                        {"opens": "12:00", "closes": "18:00"}]}}, "hours.mon", "overlap"),
    ({"hours": {"monday": []}}, "hours.monday.[key]", "Input should be"),
    ({"coordinates": {"latitude": "91", "longitude": "0"}}, "coordinates.latitude", "less than"),
    ({"coordinates": {"latitude": "52.1234567", "longitude": "0"}}, "coordinates.latitude",
     "6 decimal places"),
    ({"time_zone": "Mars/Olympus"}, "time_zone", "IANA"),
    ({"address": {"street": "x", "postal_code": "1", "city": "y", "country": "de"}},
     "address.country", "pattern"),
    ({"exceptions": [{"date": "2026-12-24"}]}, "exceptions.0", "either closed"),
    ({"exceptions": [{"date": "2026-12-24", "closed": True},
                     {"date": "2026-12-24", "closed": True}]}, "", "each date at most once"),
    ({"capabilities": {"drive_thru": True}}, "capabilities.drive_thru", "Extra inputs"),
])
def test_bad_records_name_the_field(data: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        StoreRecord.model_validate(data)
    first = caught.value.errors()[0]
    assert ".".join(str(p) for p in first["loc"]) == field
    assert message in first["msg"]
