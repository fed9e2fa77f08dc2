"""Accounting summaries of a settlement (pure): lines to accounts and tax rates, split at month end.

Rules:
- the mapping is a versioned YAML document (``default_accounts.yaml`` shipped as version 1):
  ``version``, ``name``, ``clearing_account``, ``default`` and ``rules`` of
  ``{transaction_type?, amount_type?, amount_description?, account, tax_rate?}``; the first rule
  whose given fields all match a line (exactly, case-blind) wins, else ``default``; read
  strictly (``hub.strict_yaml``), bounded, a refused document names each bad field
  (``AccountMapError``);
- a line belongs to the month (UTC) it was posted in; a line with no posted time to the month
  of the settlement's deposit;
- the summary groups per month by transaction type, amount type, account and tax rate; each
  month's part is what the clearing account carries for that month, and the parts add up to the
  settlement's lines (so to the one bank deposit when the deposit check passes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from importlib.resources import files
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.finance.settlements.model import ZERO, Line
from hub.strict_yaml import DocumentError, Problem, read_document

MAX_TEXT, MAX_RULES = 100_000, 500
Account = str


class AccountMapError(DocumentError):
    """A settlement account mapping that cannot be used."""

    REFUSED = "settlement account mapping refused"

    @classmethod
    def at(cls, path: str, message: str) -> AccountMapError:
        """One problem at ``path``."""
        return cls([Problem(path, message)])


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    account: str = Field(min_length=1, max_length=20)
    tax_rate: Decimal | None = Field(default=None, ge=0, le=100)


class _Rule(_Target):
    transaction_type: str | None = Field(default=None, min_length=1, max_length=60)
    amount_type: str | None = Field(default=None, min_length=1, max_length=60)
    amount_description: str | None = Field(default=None, min_length=1, max_length=100)


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = Field(ge=1, le=1_000_000)
    name: str = Field(min_length=1, max_length=100)
    clearing_account: str = Field(min_length=1, max_length=20)
    default: _Target
    rules: list[_Rule] = Field(max_length=MAX_RULES)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a line is booked."""

    account: str
    tax_rate: Decimal | None


@dataclass(frozen=True, slots=True)
class AccountMap:
    """A validated mapping."""

    version: int
    name: str
    clearing_account: str
    default: Target
    rules: tuple[tuple[tuple[str | None, str | None, str | None], Target], ...]

    def target(self, transaction_type: str, amount_type: str, description: str) -> Target:
        """The first matching rule's target, else the default."""
        values = (transaction_type.lower(), amount_type.lower(), description.lower())
        for match, target in self.rules:
            if all(m is None or m == v for m, v in zip(match, values, strict=True)):
                return target
        return self.default


def default_accounts_text() -> str:
    """The mapping shipped with ACORN (version 1)."""
    return (files("hub.finance.settlements") / "default_accounts.yaml").read_text("utf-8")


def load_accounts_yaml(text: str) -> AccountMap:
    """Parse and validate a mapping; ``AccountMapError`` names each bad field."""
    doc = read_document(text, _Document, AccountMapError, "a settlement account mapping",
                        MAX_TEXT)
    rules = tuple(
        (
            tuple(_lower(v) for v in (r.transaction_type, r.amount_type, r.amount_description)),
            Target(r.account, r.tax_rate),
        )
        for r in doc.rules
    )
    default = Target(doc.default.account, doc.default.tax_rate)
    return AccountMap(doc.version, doc.name, doc.clearing_account, default, rules)  # type: ignore[arg-type]


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()




@dataclass(frozen=True, slots=True)
class Booking:
    """One summary row: a month's lines of one kind on one account."""

    month: str
    transaction_type: str
    amount_type: str
    account: str
    tax_rate: Decimal | None
    amount: Decimal
    lines: int


@dataclass(frozen=True, slots=True)
class Part:
    """One month's share of the deposit, booked through the clearing account."""

    month: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Summary:
    """A settlement's accounting summary."""

    mapping_version: int
    clearing_account: str
    bookings: tuple[Booking, ...]
    parts: tuple[Part, ...]

    @property
    def total(self) -> Decimal:
        """What the parts add up to."""
        return sum((p.amount for p in self.parts), ZERO)


def summarize(lines: Iterable[Line], mapping: AccountMap, deposit_at: datetime | None) -> Summary:
    """The settlement's lines per month, transaction type, amount type, account and tax rate."""
    fallback = f"{deposit_at:%Y-%m}" if deposit_at else "unknown"
    sums: dict[tuple[tuple[int, int] | None, str, str, str], list[Any]] = {}
    for line in lines:
        at = line.posted_at
        month = (at.year, at.month) if at is not None else None
        key = (month, line.transaction_type, line.amount_type, line.amount_description)
        row = sums.get(key)
        if row is None:
            sums[key] = [line.amount, 1]
        else:
            row[0] += line.amount
            row[1] += 1
    # then per month and kind onto accounts (a few hundred keys, not a line each)
    booked: dict[tuple[str, str, str, Target], list[Any]] = {}
    for (when, kind, amount_type, description), (amount, count) in sums.items():
        target = mapping.target(kind, amount_type, description)
        name = f"{when[0]:04d}-{when[1]:02d}" if when else fallback
        row = booked.setdefault((name, kind, amount_type, target), [ZERO, 0])
        row[0] += amount
        row[1] += count
    bookings = tuple(
        Booking(m, t, a, target.account, target.tax_rate, amount, count)
        for (m, t, a, target), (amount, count) in sorted(
            booked.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3].account)
        )
    )
    months: dict[str, Decimal] = {}
    for booking in bookings:
        months[booking.month] = months.get(booking.month, ZERO) + booking.amount
    parts = tuple(Part(month, amount) for month, amount in sorted(months.items()))
    return Summary(mapping.version, mapping.clearing_account, bookings, parts)
