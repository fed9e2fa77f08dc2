"""Months as the archive knows them: ``YYYY-MM`` in UTC, their bounds, and which one is due.

Rules: pure; a month runs from its first instant (inclusive) to the next month's (exclusive),
UTC; a month is due ``days`` after its end.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hub.errors import InputError

MONTH = re.compile(r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])$")  # 1970-01 to 2999-12


def check_month(text: str) -> str:
    """``text`` if it is a month as YYYY-MM; InputError naming ``month`` otherwise."""
    if not MONTH.match(text):
        raise InputError(
            f"a month is written YYYY-MM (e.g. 2026-11, from 1970 on), not {text!r}", field="month"
        )
    return text


def bounds(month: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's first instant, UTC."""
    year, number = (int(part) for part in check_month(month).split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def month_of(at: datetime) -> str:
    """The month (UTC) ``at`` falls in."""
    return at.astimezone(UTC).strftime("%Y-%m")


def previous(month: str) -> str:
    """The month before ``month``."""
    start, _end = bounds(month)
    return month_of(start - timedelta(days=1))


def has_ended(month: str, now: datetime) -> bool:
    """True once ``month`` is over at ``now``."""
    return bounds(month)[1] <= now


def due_month(now: datetime, days: int) -> str:
    """The latest month whose end lies at least ``days`` days before ``now``."""
    return previous(month_of(now - timedelta(days=days)))
