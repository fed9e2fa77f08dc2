"""Column types that keep the hub's rules on both SQLite and PostgreSQL.

- ``UtcDateTime``: aware datetimes only; stored as UTC (timestamptz on PostgreSQL, naive UTC text
  on SQLite) and always read back aware, in UTC.
- ``Amount``: exact decimals. PostgreSQL gets NUMERIC; SQLite stores the decimal as text, because
  SQLite's NUMERIC affinity silently turns ``12.34`` into a binary float.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored and returned in UTC; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        tz = value.tzinfo
        if tz is None:
            raise ValueError("naive datetime refused: the hub stores UTC only")
        if tz is not UTC:  # (already UTC, as every decoded timestamp is: astimezone would copy)
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Amount(TypeDecorator[Decimal]):
    """An exact money amount (the currency lives in its own column)."""

    impl = Numeric(19, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(19, 4, asdecimal=True))

    def process_bind_param(self, value: Decimal | str | int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money amounts are never floats")
        amount = Decimal(value)
        return format(amount, "f") if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


def json_column() -> JSON:
    """A JSON column where Python None is SQL NULL."""
    return JSON(none_as_null=True)
