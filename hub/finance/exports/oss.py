"""The EU One-Stop-Shop summary of an entity and a quarter: per member country of consumption
and VAT rate, the net and VAT of sales, reduced by refunds. Pure.

Rules:
- only facts taxed in another EU country through OSS (``Fact.oss``) count; returned goods are
  no money and do not;
- figures are in the entity's base currency (the OSS return is filed in euro), each fact split
  into net and VAT on its own (``facts.split``) and then added, so the summary equals the sum
  of the journal's rows;
- the country is where the goods arrived (``Fact.country``: the buyer's ship-to country of the
  Amazon order); where no destination was known it was assumed from the marketplace
  (``Fact.basis`` ``marketplace``) and each row counts those facts in ``assumed_from_marketplace``
  so the filer can check them; domestic sales (the entity's own country) are not OSS;
- a fact without a rate is refused (``OssError``): the declaration must not miss it;
- rows sorted by country then rate; ``write_csv`` adds the totals row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from hub.errors import InputError
from hub.finance.exports.facts import Fact
from hub.finance.fx_amounts import quantum

COLUMNS = (
    "country",
    "vat_rate",
    "currency",
    "sales_net",
    "sales_vat",
    "refunds_net",
    "refunds_vat",
    "net",
    "vat",
    "assumed_from_marketplace",
)


class OssError(InputError):
    """Facts the OSS summary cannot be made from."""


@dataclass(frozen=True, slots=True)
class OssRow:
    """One member country and rate of a quarter (refunds are negative)."""

    country: str
    vat_rate: Decimal
    currency: str
    sales_net: Decimal
    sales_vat: Decimal
    refunds_net: Decimal
    refunds_vat: Decimal
    assumed: int = 0  # facts whose country was assumed from the marketplace

    @property
    def net(self) -> Decimal:
        """Net after refunds."""
        return self.sales_net + self.refunds_net

    @property
    def vat(self) -> Decimal:
        """VAT after refunds."""
        return self.sales_vat + self.refunds_vat


def summary(facts: Iterable[Fact]) -> list[OssRow]:
    """The OSS rows of ``facts`` (see the module rules)."""
    sums: dict[tuple[str, Decimal, str], list[Decimal]] = {}
    assumed: dict[tuple[str, Decimal, str], int] = {}
    for fact in facts:
        if not fact.oss or fact.kind == "return":
            continue
        split = fact.base_net_vat
        if split is None or fact.base is None or fact.vat_rate is None:
            raise OssError(
                f"{fact.kind} {fact.document} of {fact.day} has no exchange rate or "
                "VAT rate: import ECB rates or set vat_rates first",
                "period",
            )
        key = (fact.country, fact.vat_rate, fact.base.base_currency)
        row = sums.setdefault(key, [quantum(key[2]) * 0] * 4)
        at = 0 if fact.kind == "sale" else 2
        row[at] += split[0]
        row[at + 1] += split[1]
        assumed[key] = assumed.get(key, 0) + (fact.basis == "marketplace")
    return [
        OssRow(country, rate, currency, v[0], v[1], v[2], v[3], assumed[country, rate, currency])
        for (country, rate, currency), v in sorted(sums.items())
    ]


def write_csv(rows: list[OssRow]) -> bytes:
    """The summary as UTF-8 CSV with a totals row per currency."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    totals: dict[str, list[Decimal]] = {}
    assumed: dict[str, int] = {}
    for r in rows:
        figures = [r.sales_net, r.sales_vat, r.refunds_net, r.refunds_vat, r.net, r.vat]
        writer.writerow(
            [r.country, f"{r.vat_rate:f}", r.currency, *(format(v, "f") for v in figures),
             r.assumed]
        )
        total = totals.setdefault(r.currency, [quantum(r.currency) * 0] * 6)
        for i, v in enumerate(figures):
            total[i] += v
        assumed[r.currency] = assumed.get(r.currency, 0) + r.assumed
    for currency, total in sorted(totals.items()):
        writer.writerow(
            ["total", "", currency, *(format(v, "f") for v in total), assumed[currency]]
        )
    return out.getvalue().encode("utf-8")
