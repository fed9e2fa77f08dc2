"""Amounts in an entity's base currency, and the FX gain or loss between a refund and its
settlement. Pure.

Rules:
- ``convert``: ``amount currency`` in ``base`` on ``day`` is ``amount * rate`` rounded half-up
  to the base currency's minor unit, with the rate, its day and its source (``hub.finance.fx``:
  the ECB quote on or before the day, crossed through the euro); the same currency converts at
  1 with the source ``SAME``; no rate is ``None``, never a guess;
- a refund is recognised at the rate of its day and paid out through the settlement at the rate
  of the settlement line's posted day: the gain is ``base(A, refund rate) - base(A, settlement
  rate)`` for the refunded amount ``A`` (a refund is money going out: a currency that rose in
  between cost more base currency, a loss, negative); refunds in the base currency have none;
- ``monthly`` adds the gains per month of the settlement and base currency (never across
  currencies), oldest first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import NamedTuple

from hub.finance.fx import Crossed
from protocol import MINOR_UNITS

SAME = "same currency: no conversion"
RateOf = Callable[[str, str, date], Crossed | None]


class Converted(NamedTuple):  # a tuple: 200,000 a month are made fast
    """``amount`` in ``base_currency`` at ``rate`` (1 currency = rate base) of ``rate_day``."""

    base_amount: Decimal
    base_currency: str
    rate: Decimal
    rate_day: date
    source: str


@lru_cache(maxsize=64)
def quantum(currency: str) -> Decimal:
    """The smallest unit of ``currency`` (0.01 unless ISO 4217 says otherwise)."""
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))


def in_base(amount: Decimal, rate: Decimal, base: str) -> Decimal:
    """``amount * rate`` rounded half-up to ``base``'s minor unit."""
    return (amount * rate).quantize(quantum(base), rounding=ROUND_HALF_UP)


def convert(
    amount: Decimal, currency: str, base: str, day: date, rate_of: RateOf
) -> Converted | None:
    """``amount currency`` in ``base`` on ``day`` (see the module rules)."""
    if currency == base:
        return Converted(
            amount.quantize(quantum(base), rounding=ROUND_HALF_UP), base, Decimal(1), day, SAME
        )
    crossed = rate_of(currency, base, day)
    if crossed is None:
        return None
    return Converted(
        in_base(amount, crossed.rate, base), base, crossed.rate, crossed.day, crossed.source
    )


@dataclass(frozen=True, slots=True)
class Settled:
    """A refund and the settlement that paid it out, each with its rate."""

    ref: str
    order_id: str
    amount: Decimal
    currency: str
    base_currency: str
    refund_day: date
    refund_rate: Decimal
    settled_day: date
    settled_rate: Decimal

    @property
    def at_refund(self) -> Decimal:
        """The refund in the base currency at the refund day's rate."""
        return in_base(self.amount, self.refund_rate, self.base_currency)

    @property
    def at_settlement(self) -> Decimal:
        """The refund in the base currency at the settlement day's rate."""
        return in_base(self.amount, self.settled_rate, self.base_currency)

    @property
    def gain(self) -> Decimal:
        """The FX gain (positive) or loss (negative) in the base currency."""
        return self.at_refund - self.at_settlement


@dataclass(frozen=True, slots=True)
class MonthGain:
    """The FX result of one month (of the settlements) in one base currency."""

    month: str
    base_currency: str
    refunds: int
    at_refund: Decimal
    at_settlement: Decimal
    gain: Decimal


def monthly(settled: Iterable[Settled]) -> list[MonthGain]:
    """The gains per settlement month and base currency, oldest first."""
    sums: dict[tuple[str, str], list[Decimal]] = {}
    for s in settled:
        if s.currency == s.base_currency:
            continue
        row = sums.setdefault(
            (s.settled_day.strftime("%Y-%m"), s.base_currency),
            [Decimal(0), Decimal(0), Decimal(0), Decimal(0)],
        )
        row[0] += 1
        row[1] += s.at_refund
        row[2] += s.at_settlement
        row[3] += s.gain
    return [
        MonthGain(month, base, int(v[0]), v[1], v[2], v[3])
        for (month, base), v in sorted(sums.items())
    ]


GAINS_COLUMNS = ("month", "base_currency", "refunds", "at_refund", "at_settlement", "gain")


def gains_table(rows: Iterable[MonthGain]) -> list[list[str]]:
    """The monthly gains as text rows under ``GAINS_COLUMNS`` (the CLI's and the API's CSV)."""
    return [
        list(GAINS_COLUMNS),
        *(
            [
                m.month,
                m.base_currency,
                str(m.refunds),
                f"{m.at_refund:f}",
                f"{m.at_settlement:f}",
                f"{m.gain:f}",
            ]
            for m in rows
        ),
    ]
