"""The facts every export is written from: one row per sale line, return line and refund of an
entity in a period, with VAT split from the gross and the amount in the base currency. Pure.

Rules:
- a period is a month ``YYYY-MM`` or a quarter ``YYYY-Qn`` (UTC days, both ends inclusive);
- amounts are signed: sales positive, refunds and returned goods negative; a fact whose amount
  the hub does not hold (a POS sale: quantities only) has ``gross`` None, its currency ``""``,
  no base amount, and every export leaves its money out;
- ``split``: gross prices include VAT; net = gross / (1 + rate/100) rounded half-up to the minor
  unit, VAT = gross - net (so the two add up to the gross to the cent); no rate: all net;
- the base currency figures are split the same way from the converted gross.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, NamedTuple

from hub.errors import InputError
from hub.finance.fx_amounts import Converted, quantum

Kind = Literal["sale", "return", "refund"]
# where a fact's country comes from: the buyer's ship-to country of the Amazon order, the
# marketplace's country (assumed: no destination known), or the entity's own (a store's sale)
Basis = Literal["ship_to", "marketplace", "store"]
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True, slots=True)
class Period:
    """Days ``first`` to ``last`` (inclusive), named ``label``."""

    label: str
    first: date
    last: date

    def quarter(self) -> Period:
        """The quarter this period starts in."""
        q = (self.first.month - 1) // 3 + 1
        return parse_period(f"{self.first.year}-Q{q}")


def parse_period(text: str) -> Period:
    """``2026-11`` (a month) or ``2026-Q4`` (a quarter); InputError otherwise."""
    text = text.strip()
    month, quarter = _MONTH.match(text), _QUARTER.match(text)
    if (month or quarter) and int(text[:4]) >= 1:  # year 0 is no year
        year = int(text[:4])
        last_month = int(month[2]) if month else int(quarter[2]) * 3  # type: ignore[index]
        first_month = last_month if month else last_month - 2
        return Period(
            text,
            date(year, first_month, 1),
            date(year, last_month, calendar.monthrange(year, last_month)[1]),
        )
    raise InputError(
        f"a period is a month (2026-11) or a quarter (2026-Q4), not {text!r}", "period"
    )


def split(gross: Decimal, rate: Decimal | None, currency: str) -> tuple[Decimal, Decimal]:
    """(net, VAT) of a gross amount at ``rate`` percent (see the module rules)."""
    if not rate:
        return gross, Decimal(0).quantize(quantum(currency))
    net = (gross * 100 / (100 + rate)).quantize(quantum(currency), rounding=ROUND_HALF_UP)
    return net, gross - net


class Fact(NamedTuple):  # a tuple: 200,000 a month are made fast
    """One journal row of an entity."""

    kind: Kind
    day: date
    document: str  # order id, store/return id or store/refund id
    line: str  # order item id, return line number, or "" for a refund
    order_id: str | None
    source: str  # the Amazon marketplace id or the store id
    country: str  # where the sale is taxed (the destination or the entity's country)
    sku: str
    quantity: int
    gross: Decimal | None  # None: the hub holds no amount (a POS sale)
    currency: str
    vat_rate: Decimal | None
    oss: bool
    base: Converted | None  # None: no rate known for the day
    basis: Basis = "store"  # where ``country`` comes from

    @property
    def net_vat(self) -> tuple[Decimal, Decimal] | None:
        """(net, VAT) in the fact's currency (None: no amount known)."""
        if self.gross is None:
            return None
        return split(self.gross, self.vat_rate, self.currency)

    @property
    def base_net_vat(self) -> tuple[Decimal, Decimal] | None:
        """(net, VAT) in the base currency (None: not converted)."""
        if self.base is None:
            return None
        return split(self.base.base_amount, self.vat_rate, self.base.base_currency)
