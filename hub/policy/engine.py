"""The refund decision: ``decide(request, history, policy, now) -> Decision``, a pure function.

Every rule that matches is recorded as a ``FiredRule`` (id, effect, sentence, data), in order:

1. Marketplace: the request's marketplace rules, else ``default_marketplace``
   (``marketplace.default``, a note).
2. Amount: converted to the base currency (``CompiledPolicy.convert``: amount × rate,
   ROUND_HALF_EVEN to the base currency's minor units), it falls in exactly one tier
   (``tier.<id>``): auto-approve or needs approval at the tier's level. No rate for the
   currency (``fx.no_rate``), an amount too large to convert (``amount.out_of_range``) or one of
   zero or less (``amount.not_positive``) send the refund to manual review.
3. Return terms (``hub.policy.terms``): ``window.expired`` and ``opened.excluded`` reject, unless
   the statutory withdrawal right (``withdrawal.right``) or the faulty-goods exception
   (``warranty.claim``) set them aside.
4. Risk (``hub.policy.risk``): frequent refunder, item mismatch, grade, over the amount paid,
   high-risk order; each sends the refund to manual review.
5. Timing: ``timing.<when>``, the most specific rule for (channel, category). ``on_scan`` and
   ``after_inspection`` are notes here (waiting for the inspection happens before ``decide`` is
   asked: the hub decides such a refund once its grade is known). ``after_approval`` means a
   person approves every such refund: the rule needs approval at the policy's lowest level.

A refund whose items fall in several categories is decided once per category
(``decide_all``) and the strictest decision stands: the highest outcome, then the highest level,
the first request on a tie. The money is one refund, so one strict item holds the whole of it.

Precedence: reject > manual review > needs approval > auto-approve. The strongest effect of any
fired rule is the outcome; the approval level is the highest any needs-approval rule asked for
(``None`` unless the outcome is needs-approval). Refund timing: the configured one when
auto-approved, ``after_approval`` when a person must decide, ``None`` when rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from hub.policy.compiled import CompiledPolicy, Marketplace
from hub.policy.risk import risk_rules
from hub.policy.terms import terms_rules
from hub.policy.values import (
    OUTCOME_OF_SEVERITY,
    SEVERITY,
    DataValue,
    Decision,
    Effect,
    FiredRule,
    FxRate,
    Outcome,
    PriorRefund,
    RefundRequest,
    Timing,
)

_MANUAL = Effect.MANUAL_REVIEW


def decide(
    request: RefundRequest,
    history: Sequence[PriorRefund],
    policy: CompiledPolicy,
    now: datetime,
) -> Decision:
    """Decide one refund request under ``policy`` at ``now`` (aware), with every rule fired."""
    if now.utcoffset() is None:
        raise ValueError("decide() needs an aware 'now' (UTC)")
    rules: list[FiredRule] = []
    market = _marketplace(request, policy, rules)
    base, fx = policy.convert(request.amount)
    _amount_rules(request, base, fx, policy, rules)
    terms_rules(request, market, policy, now, rules)
    risk_rules(request, history, base, policy, now, rules)
    return _decision(request, policy, base, fx, rules)


def decide_all(
    requests: Sequence[RefundRequest],
    history: Sequence[PriorRefund],
    policy: CompiledPolicy,
    now: datetime,
) -> Decision:
    """The strictest of the decisions on ``requests`` (one refund seen per item category)."""
    if not requests:
        raise ValueError("decide_all() needs at least one request")
    decisions = [decide(request, history, policy, now) for request in requests]
    return max(decisions, key=_strictness)  # max keeps the first of equals


def _strictness(decision: Decision) -> tuple[int, int]:
    return OUTCOME_OF_SEVERITY.index(decision.outcome), decision.level or 0


def _marketplace(
    request: RefundRequest, policy: CompiledPolicy, rules: list[FiredRule]
) -> Marketplace:
    market = policy.marketplaces.get(request.marketplace_id)
    if market is not None:
        return market
    market = policy.default_marketplace
    text = "marketplace {marketplace} has no rules of its own; the default rules ({name}) apply"
    data = (("marketplace", request.marketplace_id), ("name", market.name))
    rules.append(FiredRule("marketplace.default", Effect.NOTE, text, data))
    return market


def _amount_rules(
    request: RefundRequest,
    base: Decimal | None,
    fx: FxRate | None,
    policy: CompiledPolicy,
    rules: list[FiredRule],
) -> None:
    money = request.amount
    shown = (("amount", money.amount), ("currency", money.currency))
    if base is not None:
        rules.append(_tier_rule(base, policy))
    elif fx is None:
        text = "no FX rate converts {currency} into {base}; a person prices it"
        data = (("currency", money.currency), ("base", policy.base_currency))
        rules.append(FiredRule("fx.no_rate", _MANUAL, text, data))
    else:
        text = "{amount} {currency} is too large to convert"
        rules.append(FiredRule("amount.out_of_range", _MANUAL, text, shown))
    if money.amount <= 0:
        text = "a refund of {amount} {currency} is not above zero"
        rules.append(FiredRule("amount.not_positive", _MANUAL, text, shown))


def _tier_rule(base: Decimal, policy: CompiledPolicy) -> FiredRule:
    """The first tier that admits ``base``; the last tier admits everything."""
    tier = next(tier for tier in policy.tiers if tier.admits(base))
    data = (("amount", base), ("currency", policy.base_currency))
    return FiredRule(tier.rule_id, tier.effect, tier.template, data, tier.level)


def _decision(
    request: RefundRequest,
    policy: CompiledPolicy,
    base: Decimal | None,
    fx: FxRate | None,
    rules: list[FiredRule],
) -> Decision:
    configured = policy.timing_for(request.channel, request.category)
    if configured is Timing.AFTER_APPROVAL:
        rules.append(_person_first(request, policy))
    severity, level = 0, 0
    for rule in rules:
        severity = max(severity, SEVERITY.get(rule.effect, 0))
        if rule.effect is Effect.NEEDS_APPROVAL and rule.level is not None:
            level = max(level, rule.level)
    outcome = OUTCOME_OF_SEVERITY[severity]
    timing = _timing(request, configured, outcome, rules)
    level_or_none = level if outcome is Outcome.NEEDS_APPROVAL else None
    return Decision(
        request.refund_id,
        outcome,
        level_or_none,
        tuple(rules),
        policy.base_currency,
        base,
        fx,
        timing,
        policy.version,
    )


_TIMING_WORDS = {
    Outcome.AUTO_APPROVE: "refund {when} for {channel} / {category}",
    Outcome.NEEDS_APPROVAL: "refund after approval ({channel} / {category} would refund {when})",
    Outcome.MANUAL_REVIEW: "refund after review ({channel} / {category} would refund {when})",
    Outcome.REJECT: "no refund: rejected ({channel} / {category} would refund {when})",
}
_SAID = {Timing.ON_SCAN: "on scan", Timing.AFTER_INSPECTION: "after inspection",
         Timing.AFTER_APPROVAL: "after approval"}
_PERSON_FIRST = "a person approves every {channel} / {category} refund before the money goes back"


def _timing_data(request: RefundRequest, when: Timing) -> tuple[tuple[str, DataValue], ...]:
    return (("when", when), ("channel", request.channel), ("category", request.category))


def _person_first(request: RefundRequest, policy: CompiledPolicy) -> FiredRule:
    """``after_approval``: a person approves, at the policy's lowest level (before the outcome)."""
    data = _timing_data(request, Timing.AFTER_APPROVAL)
    return FiredRule("timing.after_approval", Effect.NEEDS_APPROVAL, _PERSON_FIRST, data,
                     policy.lowest_level)


def _timing(
    request: RefundRequest, configured: Timing, outcome: Outcome, rules: list[FiredRule]
) -> Timing | None:
    """Append the timing note (unless ``after_approval`` fired already); return when the money
    goes back under this outcome."""
    if configured is not Timing.AFTER_APPROVAL:
        data = _timing_data(request, configured)
        words = _TIMING_WORDS[outcome].replace("{when}", _SAID[configured])
        rules.append(FiredRule(f"timing.{configured}", Effect.TIMING, words, data))
    if outcome is Outcome.AUTO_APPROVE:
        return configured
    return None if outcome is Outcome.REJECT else Timing.AFTER_APPROVAL
