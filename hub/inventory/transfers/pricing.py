"""The transfer price of one received line, with the rule that priced it and why. Pure.

Rules:
- the rule: the first route rule naming both stores, else the first region-pair rule naming
  both stores' regions, else the first category rule naming the SKU's category, else the
  document's ``default`` (``hub.inventory.transfers.rules``);
- cost plus: the catalogue's unit cost times (1 + markup / 100), rounded half up to the cost
  currency's minor units; a SKU without a unit cost cannot be priced that way: the line is
  ``unpriced`` and says so (finance prices it by a rule or fills in the catalogue);
- a fixed price is the rule's amount per unit;
- a unit price in another currency than the settlement's is converted at ``rate`` (the ECB
  rate of the receipt's day, crossed through the euro), rounded to the settlement currency's
  minor units; the rate, its day and source are kept with the line; no rate: ``unpriced``;
- the line's amount is the settlement unit price times the quantity received, so lines add up
  exactly; the shortfall (``difference``) is valued at the same unit price, for the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from hub.inventory.transfers.rules import PriceRule, Pricing, TransferPriceRules
from protocol import Money, minor_units


class Crossed(Protocol):
    """1 unit of a currency in another, as of a day, per a source (``hub.finance.fx.Crossed``:
    the finance context's rates are passed in, never imported, as the layers require)."""

    @property
    def rate(self) -> Decimal: ...
    @property
    def day(self) -> date: ...
    @property
    def source(self) -> str: ...


Rate = Callable[[str, str], Crossed | None]
DEFAULT_RULE = "default"


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What pricing reads of one received line."""

    sku: str
    quantity: int  # units received (what the receiver pays for)
    difference: int  # received minus shipped (negative: lost in transit)
    from_store: str
    to_store: str
    from_region: str | None
    to_region: str | None
    category: str | None
    unit_cost: Money | None


@dataclass(frozen=True, slots=True)
class Priced:
    """One line priced (``unit_price``/``amount`` in the settlement currency) or not."""

    sku: str
    quantity: int
    difference: int
    currency: str
    unit_price: Decimal | None
    amount: Decimal | None
    difference_amount: Decimal | None
    rule: str
    why: str
    fx: dict[str, Any] | None

    @property
    def priced(self) -> bool:
        """True when the line has a price."""
        return self.amount is not None


def rounded(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half up to the currency's minor units."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def matching(rules: TransferPriceRules, facts: LineFacts) -> tuple[str, Pricing, str]:
    """The rule that prices ``facts``: its name, its pricing and why it matched."""
    for kind in ("route", "regions", "category"):
        for rule in rules.rules:
            if rule.kind == kind and (why := _matches(rule, facts)):
                return rule.name, rule, why
    return DEFAULT_RULE, rules.default, "no rule matched: the default"


def _matches(rule: PriceRule, facts: LineFacts) -> str:
    if rule.route is not None:
        hit = (rule.route.from_store, rule.route.to_store) == (facts.from_store, facts.to_store)
        return f"route {facts.from_store} -> {facts.to_store}" if hit else ""
    if rule.regions is not None:
        hit = (facts.from_region is not None and facts.to_region is not None
               and (rule.regions.from_region, rule.regions.to_region)
               == (facts.from_region, facts.to_region))
        return f"regions {facts.from_region} -> {facts.to_region}" if hit else ""
    hit = facts.category is not None and rule.category == facts.category
    return f"category {facts.category}" if hit else ""


def price(facts: LineFacts, rules: TransferPriceRules, rate: Rate) -> Priced:
    """Price one received line by ``rules`` (see the module rules)."""
    name, pricing, matched = matching(rules, facts)
    base, how = _unit_price(pricing, facts)
    if base is None:
        return _unpriced(facts, rules.currency, name, f"{matched} (rule {name}): {how}")
    settle = rules.currency
    fx: dict[str, Any] | None = None
    unit = base.amount
    if base.currency != settle:
        crossed = rate(base.currency, settle)
        if crossed is None:
            return _unpriced(facts, settle, name, f"{matched} (rule {name}): {how}; no "
                             f"exchange rate {base.currency} -> {settle}")
        unit = rounded(base.amount * crossed.rate, settle)
        fx = {"from": base.currency, "to": settle, "rate": format(crossed.rate, "f"),
              "day": crossed.day.isoformat(), "source": crossed.source}
        how += f" = {unit} {settle} at {crossed.rate} ({crossed.day.isoformat()})"
    return Priced(facts.sku, facts.quantity, facts.difference, settle, unit,
                  unit * facts.quantity, unit * -min(facts.difference, 0), name,
                  f"{matched} (rule {name}): {how}", fx)


def _unit_price(pricing: Pricing, facts: LineFacts) -> tuple[Money | None, str]:
    """The unit price in its own currency, and how it was reached (None: cannot be priced)."""
    if pricing.fixed is not None:
        fixed = pricing.fixed
        return (Money.of(rounded(fixed.amount, fixed.currency), fixed.currency),
                f"fixed {rounded(fixed.amount, fixed.currency)} {fixed.currency} per unit")
    markup = pricing.markup_percent or Decimal(0)
    if facts.unit_cost is None:
        return None, f"cost plus {markup}% but {facts.sku} has no unit cost in the catalogue"
    cost = facts.unit_cost
    unit = rounded(cost.amount * (1 + markup / 100), cost.currency)
    return (Money.of(unit, cost.currency),
            f"cost {cost.amount} {cost.currency} + {markup}% = {unit} {cost.currency} per unit")


def _unpriced(facts: LineFacts, currency: str, rule: str, why: str) -> Priced:
    return Priced(facts.sku, facts.quantity, facts.difference, currency, None, None, None, rule,
                  f"unpriced: {why}", None)
