"""A policy document compiled once into the lookup structures the engine reads per decision.

Rules:
- compile once per published policy (``compile_policy``), decide many times: rates, tiers, zones,
  category sets and timing rules become dicts, tuples and frozensets of ready values, so a
  decision does no parsing, no validation and no zone lookup;
- conversion: ``base = amount × rate``, quantized to the base currency's minor units with
  ROUND_HALF_EVEN (JPY 7000 × 0.0064 = 44.80 USD; EUR 10.01 × 1.5 = 15.015 → 15.02 USD);
- FX rates come from the document; rates passed in by the caller replace the document's rate for
  the same currency (a daily rate feed, say); the base currency converts at the identity rate 1,
  recorded with source ``"base currency"``;
- a compiled policy is immutable and shared freely between threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from zoneinfo import ZoneInfo

from hub.policy.document import MarketplaceSpec, PolicyDocument, TierSpec
from hub.policy.errors import PolicyError
from hub.policy.values import Effect, FxRate, Timing
from protocol import MINOR_UNITS, Channel, Grade, Money

# Enough digits that any realistic amount × rate is exact before the one rounding we state.
_CONTEXT = Context(
    prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, Overflow, DivisionByZero]
)


@dataclass(frozen=True, slots=True)
class Tier:
    """A tier ready to test: ``amount < bound`` (exclusive) or ``amount <= bound`` (inclusive)."""

    rule_id: str  # "tier.<id>"
    bound: Decimal | None
    inclusive: bool
    effect: Effect
    level: int | None
    template: str  # the sentence, with {amount} and {currency} left to fill

    def admits(self, amount: Decimal) -> bool:
        """True when ``amount`` falls in this tier (given it fell in no earlier tier)."""
        bound = self.bound
        return bound is None or amount < bound or (self.inclusive and amount == bound)


@dataclass(frozen=True, slots=True)
class Marketplace:
    """One marketplace's rules, with its zone resolved."""

    marketplace_id: str | None  # None for the default rules
    name: str
    zone: ZoneInfo
    window_days: int
    withdrawal_days: int | None
    opened_excluded: frozenset[str]


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """Everything ``decide`` needs, precomputed from one ``PolicyDocument``."""

    document: PolicyDocument
    version: int
    base_currency: str
    base_quantum: Decimal  # Decimal("0.01") for USD, Decimal("1") for JPY
    rates: Mapping[str, FxRate]
    tiers: tuple[Tier, ...]
    marketplaces: Mapping[str, Marketplace]
    default_marketplace: Marketplace
    timing_default: Timing
    timing_rules: Mapping[tuple[Channel | None, str | None], Timing]
    refunder_count: int | None
    refunder_span: timedelta
    review_grades: frozenset[Grade]
    faulty_grades: frozenset[Grade]
    check_mismatch: bool
    check_over_paid: bool
    check_high_risk: bool

    @property
    def lowest_level(self) -> int:
        """The lowest approval level any tier asks for (1 when no tier asks for one)."""
        return min((tier.level for tier in self.tiers if tier.level), default=1)

    def convert(self, money: Money) -> tuple[Decimal | None, FxRate | None]:
        """``money`` in the base currency, ROUND_HALF_EVEN to its minor units, and the rate used.

        ``(None, None)`` when no rate converts the currency; ``(None, rate)`` when the amount is
        too large to convert (beyond 60 digits: no refund is that large).
        """
        fx = self.rates.get(money.currency)
        if fx is None:
            return None, None
        try:
            product = _CONTEXT.multiply(money.amount, fx.rate)
            return product.quantize(self.base_quantum, context=_CONTEXT), fx
        except ArithmeticError:
            return None, fx

    def timing_for(self, channel: Channel, category: str) -> Timing:
        """The most specific timing rule: channel+category, channel, category, default."""
        rules = self.timing_rules
        return (
            rules.get((channel, category))
            or rules.get((channel, None))
            or rules.get((None, category))
            or self.timing_default
        )


def compile_policy(document: PolicyDocument, fx_rates: Iterable[FxRate] = ()) -> CompiledPolicy:
    """Compile ``document``; ``fx_rates`` replace the document's rates currency by currency."""
    risk = document.risk
    refunder = risk.frequent_refunder
    return CompiledPolicy(
        document=document,
        version=document.version,
        base_currency=document.base_currency,
        base_quantum=Decimal(1).scaleb(-MINOR_UNITS[document.base_currency]),
        rates=_rates(document, fx_rates),
        tiers=_tiers(document),
        marketplaces={key: _market(key, spec) for key, spec in document.marketplaces.items()},
        default_marketplace=_market(None, document.default_marketplace),
        timing_default=document.timing.default,
        timing_rules={(rule.channel, rule.category): rule.timing for rule in document.timing.rules},
        refunder_count=refunder.count if refunder else None,
        refunder_span=timedelta(days=refunder.days if refunder else 0),
        review_grades=frozenset(risk.review_grades),
        faulty_grades=frozenset(document.faulty_grades),
        check_mismatch=risk.item_mismatch,
        check_over_paid=risk.amount_over_paid,
        check_high_risk=risk.high_risk_orders,
    )


def _rates(document: PolicyDocument, passed: Iterable[FxRate]) -> dict[str, FxRate]:
    base = document.base_currency
    rates = {base: FxRate(base, base, Decimal(1), "base currency", None)}
    for spec in document.fx_rates:
        rates[spec.currency] = FxRate(spec.currency, base, spec.rate, spec.source, spec.as_of)
    for rate in passed:
        if rate.base_currency != base or rate.currency == base:
            raise PolicyError.at(
                "fx_rates",
                f"a passed-in rate {rate.currency}->{rate.base_currency} does not "
                f"convert into the base currency {base}",
            )
        rates[rate.currency] = rate
    return rates


def _tiers(document: PolicyDocument) -> tuple[Tier, ...]:
    tiers, previous = [], None
    for spec in document.tiers:
        effect = Effect.AUTO_APPROVE if spec.outcome == "auto_approve" else Effect.NEEDS_APPROVAL
        template = _tier_words(spec, previous, document.base_currency)
        tiers.append(
            Tier(
                f"tier.{spec.id}", spec.bound, spec.up_to is not None, effect, spec.level, template
            )
        )
        previous = spec
    return tuple(tiers)


def _tier_words(spec: TierSpec, previous: TierSpec | None, currency: str) -> str:
    """E.g. "{amount} {currency} is at most 500.00 USD: needs approval at level 1 (...)"."""
    if spec.bound is not None:
        where = f"is {'under' if spec.below is not None else 'at most'} {spec.bound} {currency}"
    elif previous is None or previous.bound is None:
        where = "is in the only tier"
    else:
        where = (
            f"is {'over' if previous.up_to is not None else 'at least'} {previous.bound} {currency}"
        )
    if spec.level is None:
        then = "approved without a person"
    else:
        then = f"needs approval at level {spec.level}" + (
            f" ({spec.approver})" if spec.approver else ""
        )
    text = f"{where}: {then} (tier {spec.id})".replace("{", "{{").replace("}", "}}")
    return "{amount} {currency} " + text


def _market(marketplace_id: str | None, spec: MarketplaceSpec) -> Marketplace:
    return Marketplace(
        marketplace_id=marketplace_id,
        name=spec.name,
        zone=ZoneInfo(spec.time_zone),
        window_days=spec.return_window_days,
        withdrawal_days=spec.withdrawal_days,
        opened_excluded=frozenset(spec.no_refund_once_opened),
    )
