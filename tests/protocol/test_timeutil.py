"""UTC text: the fast formatting writes exactly what strftime wrote (audit hashes depend on it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from protocol.timeutil import format_utc, to_utc

OFFSETS = st.integers(min_value=-23 * 60, max_value=23 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))
MOMENTS = st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                       timezones=st.just(UTC) | OFFSETS)


@given(MOMENTS)
def test_format_utc_writes_what_strftime_wrote(moment: datetime) -> None:
    assert format_utc(moment) == to_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_format_utc_keeps_microseconds_and_the_z() -> None:
    assert format_utc(datetime(2026, 12, 5, 4, 3, 2, tzinfo=timezone(timedelta(hours=1)))) == (
        "2026-12-05T03:03:02.000000Z")
    assert format_utc(datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == (
        datetime(999, 1, 2, 3, 4, 5, 6).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
