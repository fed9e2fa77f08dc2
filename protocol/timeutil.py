"""UTC timestamps: stored and sent in UTC, as ISO 8601 with a ``Z``.

A naive datetime is refused at the boundary (we cannot know its zone); an aware one in any zone
is converted to UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, PlainSerializer


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """Convert an aware datetime to UTC; refuse a naive one."""
    tz = value.tzinfo
    if tz is UTC:
        return value  # already so (astimezone would make a copy): the common case
    if tz is None:
        raise ValueError("timestamps must carry a time zone (UTC, ISO 8601 with Z)")
    return value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a ``Z`` (lossless round trip)."""
    utc = to_utc(value)
    if utc.year >= 1000:  # isoformat: the same text, a fifth of strftime's time (the hot path)
        return utc.isoformat(timespec="microseconds")[:-6] + "Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # as ever below year 1000 (audit hashes hold it)


UtcDatetime = Annotated[
    AwareDatetime,
    AfterValidator(to_utc),
    PlainSerializer(format_utc, return_type=str, when_used="json"),
]
