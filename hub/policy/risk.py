"""Risk rules: each one that fires sends the refund to manual review (a person looks at it).

Rules, each switchable in the policy's ``risk`` section:
- ``risk.frequent_refunder``: at least ``count`` prior refunds of the same customer with
  ``now - days <= at <= now`` (a rolling window in UTC; refunds after ``now`` do not count);
- ``risk.item_mismatch``: the scanned item is not the item ordered;
- ``risk.grade``: the inspection grade is one of ``review_grades`` (damaged by the customer);
- ``risk.over_paid``: the refund is above the amount paid, compared as Decimals in one currency,
  or in the base currency when the two differ (``risk.paid_unknown`` when no rate converts them);
- ``risk.high_risk_order``: the order is flagged high-risk.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from hub.policy.compiled import CompiledPolicy
from hub.policy.values import Effect, FiredRule, PriorRefund, RefundRequest

_MANUAL = Effect.MANUAL_REVIEW


def risk_rules(
    request: RefundRequest,
    history: Sequence[PriorRefund],
    base: Decimal | None,
    policy: CompiledPolicy,
    now: datetime,
    rules: list[FiredRule],
) -> None:
    """Append the risk rules that fire; ``base`` is the amount in the base currency, if known."""
    limit = policy.refunder_count
    if limit is not None and len(history) >= limit:  # fewer entries can never reach the limit
        _frequent_refunder(history, policy, limit, now, rules)
    if policy.check_mismatch and request.mismatch:
        rules.append(
            FiredRule("risk.item_mismatch", _MANUAL, "the scanned item is not the ordered item")
        )
    if request.grade in policy.review_grades:
        rules.append(
            FiredRule(
                "risk.grade",
                _MANUAL,
                "inspection graded the item {grade}",
                (("grade", request.grade),),
            )
        )
    if policy.check_over_paid:
        _over_paid(request, base, policy, rules)
    if policy.check_high_risk and request.high_risk:
        rules.append(FiredRule("risk.high_risk_order", _MANUAL, "the order is flagged high-risk"))


def _frequent_refunder(
    history: Sequence[PriorRefund],
    policy: CompiledPolicy,
    limit: int,
    now: datetime,
    rules: list[FiredRule],
) -> None:
    since = now - policy.refunder_span
    count = sum(1 for prior in history if since <= prior.at <= now)
    if count >= limit:
        data = (("count", count), ("days", policy.refunder_span.days), ("limit", limit))
        rules.append(
            FiredRule(
                "risk.frequent_refunder",
                _MANUAL,
                "the customer had {count} refunds in the last {days} days (review from {limit})",
                data,
            )
        )


def _over_paid(
    request: RefundRequest, base: Decimal | None, policy: CompiledPolicy, rules: list[FiredRule]
) -> None:
    amount, paid = request.amount, request.amount_paid
    if amount.currency == paid.currency:
        over = amount.amount > paid.amount
    else:
        paid_base = policy.convert(paid)[0]
        if base is None or paid_base is None:
            text = "cannot compare the refund with the {paid} paid: no FX rate converts them"
            rules.append(FiredRule("risk.paid_unknown", _MANUAL, text, (("paid", str(paid)),)))
            return
        over = base > paid_base
    if over:
        data = (("amount", str(amount)), ("paid", str(paid)))
        text = "the refund of {amount} is more than the {paid} paid"
        rules.append(FiredRule("risk.over_paid", _MANUAL, text, data))
