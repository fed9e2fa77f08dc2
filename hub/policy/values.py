"""Plain frozen values the engine reads and writes: requests, prior refunds, rules fired, decisions.

Rules:
- these are slotted frozen dataclasses, not pydantic models: the engine makes 50,000+ decisions a
  second and validation belongs where the data enters (``RefundRequest`` checks its datetimes are
  aware, ``FxRate`` checks its rate);
- money is ``protocol.Money`` (``Decimal`` + ISO 4217); a base-currency amount is a ``Decimal``
  beside the policy's base currency, already quantized to that currency's minor units;
- a ``FiredRule`` keeps its data raw and renders its human sentence on demand, so the hot path
  never formats text it may not need.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from protocol import MINOR_UNITS, Channel, Grade, Money, RefundOutcome

DataValue = str | int | bool | Decimal | date | datetime | None


class Outcome(StrEnum):
    """What the policy decides, most severe last."""

    AUTO_APPROVE = "auto_approve"
    NEEDS_APPROVAL = "needs_approval"
    MANUAL_REVIEW = "manual_review"
    REJECT = "reject"


class Timing(StrEnum):
    """When the money goes back to the customer."""

    ON_SCAN = "on_scan"
    AFTER_INSPECTION = "after_inspection"
    AFTER_APPROVAL = "after_approval"


class Effect(StrEnum):
    """What one fired rule did to the decision."""

    AUTO_APPROVE = "auto_approve"
    NEEDS_APPROVAL = "needs_approval"
    MANUAL_REVIEW = "manual_review"
    REJECT = "reject"
    WAIVED = "waived"  # the rule matched, but another rule set its effect aside
    TIMING = "timing"
    NOTE = "note"


# How strongly each effect pulls the outcome; the decision takes the strongest (precedence).
SEVERITY: dict[Effect, int] = {
    Effect.AUTO_APPROVE: 0,
    Effect.NEEDS_APPROVAL: 1,
    Effect.MANUAL_REVIEW: 2,
    Effect.REJECT: 3,
}
OUTCOME_OF_SEVERITY = (
    Outcome.AUTO_APPROVE,
    Outcome.NEEDS_APPROVAL,
    Outcome.MANUAL_REVIEW,
    Outcome.REJECT,
)
_REFUND_OUTCOME = {
    Outcome.AUTO_APPROVE: RefundOutcome.APPROVED,
    Outcome.NEEDS_APPROVAL: RefundOutcome.PENDING_APPROVAL,
    Outcome.MANUAL_REVIEW: RefundOutcome.MANUAL_REVIEW,
    Outcome.REJECT: RefundOutcome.REJECTED,
}


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (UTC), got a naive one")


@dataclass(frozen=True, slots=True)
class FxRate:
    """One unit of ``currency`` is worth ``rate`` units of ``base_currency``, per ``source``."""

    currency: str
    base_currency: str
    rate: Decimal
    source: str
    as_of: date | None  # None only for the identity "rate" of the base currency itself

    def __post_init__(self) -> None:
        for code in (self.currency, self.base_currency):
            if code not in MINOR_UNITS:
                raise ValueError(f"unknown ISO 4217 currency {code!r}")
        if not (isinstance(self.rate, Decimal) and self.rate.is_finite() and self.rate > 0):
            raise ValueError(f"an FX rate must be a positive finite Decimal, got {self.rate!r}")
        if not self.source.strip():
            raise ValueError("an FX rate must name its source")


@dataclass(frozen=True, slots=True)
class PriorRefund:
    """A refund the same customer received before."""

    at: datetime
    amount: Money

    def __post_init__(self) -> None:
        _require_aware("PriorRefund.at", self.at)


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """Everything the policy needs to know about one refund request."""

    refund_id: str
    amount: Money
    channel: Channel
    marketplace_id: str
    category: str
    ordered_at: datetime
    delivered_at: datetime | None  # None: unknown; windows then count from the order date
    opened: bool
    grade: Grade | None  # None: not inspected yet
    mismatch: bool  # the scanned item is not the ordered item
    amount_paid: Money
    high_risk: bool  # the order is flagged high-risk
    customer_key: str

    def __post_init__(self) -> None:
        _require_aware("RefundRequest.ordered_at", self.ordered_at)
        _require_aware("RefundRequest.delivered_at", self.delivered_at)


@dataclass(frozen=True, slots=True)
class FiredRule:
    """A rule that matched: its id, what it did, and the data behind its sentence."""

    rule_id: str
    effect: Effect
    template: str
    data: tuple[tuple[str, DataValue], ...] = ()
    level: int | None = None  # approval level, for NEEDS_APPROVAL effects

    @property
    def sentence(self) -> str:
        """The rule, in words an approver understands."""
        text = self.template.format_map({key: _text(value) for key, value in self.data})
        return f"{text} (set aside by a later rule)" if self.effect is Effect.WAIVED else text

    def data_dict(self) -> dict[str, str]:
        """The data as JSON-ready text."""
        return {key: _text(value) for key, value in self.data}


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer for one refund request, with every rule that fired."""

    refund_id: str
    outcome: Outcome
    level: int | None  # approval level when the outcome is NEEDS_APPROVAL
    rules: tuple[FiredRule, ...]
    base_currency: str
    base_amount: Decimal | None  # None when no FX rate could convert the amount
    fx: FxRate | None  # the rate used for base_amount
    timing: Timing | None  # None when rejected: no refund happens
    policy_version: int

    @property
    def label(self) -> str:
        """The outcome with its level, e.g. ``needs_approval:2``; simulation groups by it."""
        return f"{self.outcome}:{self.level}" if self.level is not None else str(self.outcome)

    @property
    def refund_outcome(self) -> RefundOutcome:
        """The outcome as the wire protocol's ``RefundOutcome``."""
        return _REFUND_OUTCOME[self.outcome]

    @property
    def base_money(self) -> Money | None:
        """The converted amount as Money in the base currency."""
        if self.base_amount is None:
            return None
        return Money(amount=self.base_amount, currency=self.base_currency)

    def reasons(self) -> tuple[str, ...]:
        """Every fired rule's sentence, in the order the rules fired."""
        return tuple(rule.sentence for rule in self.rules)

    def as_record(self) -> dict[str, object]:
        """The decision as JSON-ready data, for storage, the audit trail and the API."""
        fx = self.fx
        return {
            "refund_id": self.refund_id,
            "outcome": str(self.outcome),
            "level": self.level,
            "policy_version": self.policy_version,
            "base_amount": _text(self.base_amount) if self.base_amount is not None else None,
            "base_currency": self.base_currency,
            "fx": None
            if fx is None
            else {
                "currency": fx.currency,
                "rate": _text(fx.rate),
                "source": fx.source,
                "as_of": _text(fx.as_of) if fx.as_of else None,
            },
            "timing": None if self.timing is None else str(self.timing),
            "rules": [
                {
                    "rule_id": rule.rule_id,
                    "effect": str(rule.effect),
                    "level": rule.level,
                    "sentence": rule.sentence,
                    "data": rule.data_dict(),
                }
                for rule in self.rules
            ],
        }


def _text(value: DataValue) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if value is None:
        return "-"
    return str(value)
