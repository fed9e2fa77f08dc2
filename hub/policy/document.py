"""The policy document: what an admin writes in YAML, validated into frozen pydantic models.

Rules of the format (``default_policy.yaml`` shows every field):
- every model is frozen and forbids unknown fields, so a typo is an error that names the field;
- amounts and rates are ``Decimal``; floats are refused (YAML numbers are read as exact decimals by
  ``load_policy_yaml``, never through ``float``);
- ``fx_rates[*].rate`` is the value of ONE unit of ``currency`` in ``base_currency``; one entry per
  currency, never the base currency itself;
- ``tiers`` are checked in order against the converted amount; each tier but the last has exactly
  one bound, ``below`` (exclusive: ``below: 50.00`` admits 49.99, not 50.00) or ``up_to``
  (inclusive: ``up_to: 500.00`` admits 500.00, not 500.01); bounds strictly increase, carry at
  most the base currency's decimal places, and the last tier has no bound, so every amount falls in
  exactly one tier; ``needs_approval`` tiers name a ``level`` (1, 2, ...), ``auto_approve`` ones
  do not;
- ``marketplaces`` maps a marketplace id to its rules; ``default_marketplace`` applies to any other
  id; ``time_zone`` is an IANA zone in which return windows are counted;
- ``timing.rules`` pick when to refund by channel and/or category; no two rules share both.
Cross-field problems raise ``PolicyError`` naming the field; single-field ones raise pydantic's
``ValidationError``, which ``load_policy_yaml`` turns into ``PolicyError``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from hub.policy.errors import PolicyError, Problem
from hub.policy.values import Timing
from protocol import MINOR_UNITS, Channel, Grade


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("write amounts and rates as exact decimals (text), never floats")
    return value


def _finite_non_negative(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0:
        raise ValueError(f"{value} must be a finite amount of zero or more")
    return value


def _known_currency(value: str) -> str:
    if value not in MINOR_UNITS:
        raise ValueError(f"{value!r} is not an ISO 4217 currency we know")
    return value


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return value


Amount = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_finite_non_negative)]
Rate = Annotated[Decimal, BeforeValidator(_no_float), Field(gt=0, allow_inf_nan=False)]
Currency = Annotated[str, AfterValidator(_known_currency)]
Zone = Annotated[str, AfterValidator(_known_zone)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Ident = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]
Category = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FxRateSpec(_Strict):
    """One FX rate: ``1 currency = rate base_currency``, from ``source``, as of ``as_of``."""

    currency: Currency
    rate: Rate
    source: Name
    as_of: date


class TierSpec(_Strict):
    """One amount tier in the base currency."""

    id: Ident
    below: Amount | None = None  # exclusive upper bound
    up_to: Amount | None = None  # inclusive upper bound
    outcome: Literal["auto_approve", "needs_approval"]
    level: int | None = Field(default=None, ge=1, le=9)
    approver: Name | None = None

    @model_validator(mode="after")
    def _level_matches_outcome(self) -> TierSpec:
        if self.below is not None and self.up_to is not None:
            raise ValueError("give one bound, 'below' (exclusive) or 'up_to' (inclusive), not both")
        if (self.outcome == "needs_approval") != (self.level is not None):
            raise ValueError("'level' is required for needs_approval and refused for auto_approve")
        return self

    @property
    def bound(self) -> Decimal | None:
        """The upper bound, whichever kind it is."""
        return self.below if self.below is not None else self.up_to


class FrequentRefunderSpec(_Strict):
    """Manual review when the customer had at least ``count`` refunds in the last ``days``."""

    count: int = Field(ge=1, le=1000)
    days: int = Field(ge=1, le=3650)


class RiskSpec(_Strict):
    """Rules that send a refund to manual review; each can be switched off."""

    frequent_refunder: FrequentRefunderSpec | None
    review_grades: tuple[Grade, ...] = (Grade.DAMAGED_BY_CUSTOMER,)
    item_mismatch: bool = True
    amount_over_paid: bool = True
    high_risk_orders: bool = True


class MarketplaceSpec(_Strict):
    """Rules of one marketplace."""

    name: Name
    time_zone: Zone = "UTC"
    return_window_days: int = Field(ge=0, le=3650)
    withdrawal_days: int | None = Field(default=None, ge=1, le=365)
    no_refund_once_opened: tuple[Category, ...] = ()


class TimingRuleSpec(_Strict):
    """When to refund for a channel, a category, or both."""

    channel: Channel | None = None
    category: Category | None = None
    timing: Timing

    @model_validator(mode="after")
    def _names_something(self) -> TimingRuleSpec:
        if self.channel is None and self.category is None:
            raise ValueError("a timing rule names a channel, a category or both")
        return self


class TimingSpec(_Strict):
    """The default refund timing and its exceptions."""

    default: Timing
    rules: tuple[TimingRuleSpec, ...] = ()


class PolicyDocument(_Strict):
    """A versioned refund approval policy."""

    schema_version: Literal[1]
    version: int = Field(ge=1)
    name: Name
    base_currency: Currency
    fx_rates: tuple[FxRateSpec, ...] = ()
    tiers: tuple[TierSpec, ...] = Field(min_length=1)
    risk: RiskSpec
    faulty_grades: tuple[Grade, ...] = (Grade.DEFECTIVE, Grade.DAMAGED_IN_TRANSIT)
    marketplaces: dict[str, MarketplaceSpec] = Field(default_factory=dict)
    default_marketplace: MarketplaceSpec
    timing: TimingSpec

    @model_validator(mode="after")
    def _cross_checks(self) -> PolicyDocument:
        problems = [*_fx_problems(self), *_tier_problems(self), *_timing_problems(self)]
        if problems:
            raise PolicyError(problems)
        return self


def _fx_problems(doc: PolicyDocument) -> list[Problem]:
    problems, seen = [], set()
    for index, spec in enumerate(doc.fx_rates):
        path = f"fx_rates[{index}].currency"
        if spec.currency == doc.base_currency:
            problems.append(Problem(path, f"{spec.currency} is the base currency; give no rate"))
        elif spec.currency in seen:
            problems.append(Problem(path, f"a second rate for {spec.currency}"))
        seen.add(spec.currency)
    return problems


def _tier_problems(doc: PolicyDocument) -> list[Problem]:
    problems: list[Problem] = []
    places, previous, last = MINOR_UNITS[doc.base_currency], None, len(doc.tiers) - 1
    for index, tier in enumerate(doc.tiers):
        field = "below" if tier.below is not None else "up_to"
        path, bound = f"tiers[{index}].{field}", tier.bound
        if bound is None:
            if index != last:
                problems.append(Problem(f"tiers[{index}]", "only the last tier has no bound"))
            continue
        if index == last:
            problems.append(Problem(path, "the last tier has no bound: it takes every amount"))
        if _places(bound) > places:
            problems.append(Problem(path, f"{bound} has more decimals than {doc.base_currency}"))
        if previous is not None and bound <= previous:
            problems.append(Problem(path, f"{bound} must be above the previous bound {previous}"))
        previous = bound
    if len({tier.id for tier in doc.tiers}) != len(doc.tiers):
        problems.append(Problem("tiers", "tier ids must be unique"))
    return problems


def _timing_problems(doc: PolicyDocument) -> list[Problem]:
    problems, seen = [], set()
    for index, rule in enumerate(doc.timing.rules):
        key = (rule.channel, rule.category)
        if key in seen:
            problems.append(Problem(f"timing.rules[{index}]", "a second rule for the same pair"))
        seen.add(key)
    return problems


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0
