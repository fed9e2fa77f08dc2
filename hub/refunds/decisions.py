"""From what the hub knows about a refund to the policy engine, and back: ``judge`` -> ``Verdict``.

Pure: no I/O. The engine itself is ``hub.policy.decide``; this module is its adapter. The facts
come from ``hub.refunds.facts`` (the one place that builds them); every caller that decides a
refund (the ingest, hub-side requests, the simulation) calls ``judge`` and applies the
``Verdict`` it returns: the move on the refund state table, the state it leads to, the outcome the
store is told, the level, the reasons and who decided.

Rules:
- the request uses the facts: amount, channel, marketplace (``store:<id>`` when the sale has
  none, so the policy's default rules apply and say so), the inspection grade if any, the
  return's mismatch flag, amount paid = the return's items total (the refund amount itself when
  the items are in another currency or unknown), whether the order or the customer is flagged
  high-risk, the order date and the delivery day (never later than the request), the customer;
- category and opened come from the returned items as the store recorded them (``unknown`` and
  not opened when it did not say). A return whose items fall in several categories is one
  request per category (opened when any of its items in that category was opened), and the
  strictest decision stands (``hub.policy.decide_all``);
- timing: a refund whose policy timing is ``after_inspection`` for any of its categories, and
  whose return has no inspection yet, is not decided: it waits (``awaiting_inspection``) and is
  decided when the inspection reaches the hub, as of its request time. A refund the store already
  paid out offline is decided at once (the money has moved);
- outcomes lead to refund states: auto-approve -> approved (decided by ``policy:auto``);
  needs approval -> pending_approval at its level; manual review -> pending_approval at the top
  level, with outcome ``manual_review``; reject -> rejected (decided by ``policy:auto``);
- a POS refund a store approved offline stands when it is within the store's offline limit (same
  currency; decided by ``store:<staff>``); above it (or without a limit, or not a POS sale) it
  goes to manual review;
- exchange rates: the ECB rate of the request's day (``priced``; ``hub.refunds.facts``) replaces
  the policy document's for the refund's currencies; a currency with neither goes to manual
  review with the engine's sentence (``fx.no_rate``), never a default rate;
- the reasons: every fired rule's sentence, then a note when several categories were decided, the
  risk flags' reasons, and what became of an offline approval;
- the store is also told the fired rules as data (``wire_rules``: code, effect, level, params,
  from the stored decision record), so it words them for its staff in its own language; a rule
  the wire cannot carry (a code or parameter outside its bounds) is left out, never refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from hub.policy import (
    CompiledPolicy,
    Decision,
    Effect,
    FxRate,
    Outcome,
    PriorRefund,
    RefundRequest,
    Timing,
    decide_all,
)
from hub.refunds.facts import RefundFacts
from hub.refunds.states import ACTION_FOR_OUTCOME, RefundAction, RefundState, transition
from protocol import Channel, DecisionRule, Grade, Money, RefundOutcome
from protocol.limits import MAX_RULE_PARAMS, MAX_RULES, MAX_TEXT_CHARS, clip

AUTO_ACTOR = "policy:auto"
AUTO_ROLE = "policy"
UNKNOWN_CATEGORY = "unknown"


@dataclass(frozen=True)
class Verdict:
    """Where a decision leaves a refund: the move it makes, what the store is told, who decided.

    ``state`` is the state the move leads to from ``requested`` (and from
    ``awaiting_inspection``, except waiting again); ``moves`` checks it against the table."""

    action: RefundAction
    outcome: RefundOutcome
    level: int | None
    reasons: tuple[str, ...]
    decision: Decision | None = None  # None: the refund waits for its inspection
    decided_by: str | None = None  # who settled it (final verdicts only)

    @property
    def state(self) -> RefundState:
        """The refund's next state."""
        return transition(RefundState.REQUESTED, self.action)

    @property
    def final(self) -> bool:
        """True when the policy settled it (approved or rejected): no person needs to act."""
        return self.state in (RefundState.APPROVED, RefundState.REJECTED)

    def moves(self, current: RefundState) -> RefundState:
        """The state a refund in ``current`` moves to (InvalidTransition if the table refuses)."""
        return transition(current, self.action)


def _verdict(outcome: RefundOutcome, level: int | None, reasons: tuple[str, ...],
             decision: Decision | None, by: str | None = AUTO_ACTOR) -> Verdict:
    verdict = Verdict(ACTION_FOR_OUTCOME[outcome], outcome, level, reasons, decision)
    return replace(verdict, decided_by=by) if verdict.final else verdict


def judge(facts: RefundFacts, history: Sequence[PriorRefund], policy: CompiledPolicy,
          offline_by: str | None = None) -> Verdict:
    """Where ``policy`` leaves the refund of ``facts`` (``offline_by``: the staff who approved
    and paid it out at the counter while the hub was away); see the module rules."""
    if offline_by is None and (wait := awaiting_inspection(facts, policy)) is not None:
        return waiting_verdict(wait)
    policy = priced(facts, policy)
    decision = decide_all(requests_of(facts), history, policy, facts.requested_at)
    verdict = verdict_of(decision, top_level(policy))
    notes = tuple(note for note in (mixed_note(facts, decision), facts.risk) if note)
    if notes:
        verdict = replace(verdict, reasons=(*verdict.reasons, *notes))
    if offline_by is not None:
        refusal = offline_refusal(facts.amount, facts.channel, facts.offline_limit)
        verdict = offline_verdict(verdict, refusal, offline_by, top_level(policy))
    return verdict


def priced(facts: RefundFacts, policy: CompiledPolicy) -> CompiledPolicy:
    """``policy`` with the ECB rates of the request's day for the refund's currencies (the
    amount's and the paid one's); a currency without one keeps only what the policy document
    itself publishes, so the engine says no rate converts it (``fx.no_rate``)."""
    if facts.fx is None:
        return policy
    base = policy.base_currency
    wanted = {facts.amount.currency} | ({facts.paid.currency} if facts.paid else set())
    rates = dict(policy.rates)
    for currency in sorted(wanted - {base}):
        found = facts.fx(currency, base)
        if found is not None:
            rates[currency] = FxRate(currency, base, found.rate, found.source, found.day)
    return replace(policy, rates=rates)


def categories_of(facts: RefundFacts) -> tuple[str, ...]:
    """The refund's item categories in order of appearance (``unknown`` when none is known)."""
    found = dict.fromkeys(item.category or UNKNOWN_CATEGORY for item in facts.items)
    return tuple(found) or (UNKNOWN_CATEGORY,)


def requests_of(facts: RefundFacts) -> tuple[RefundRequest, ...]:
    """One policy request per item category (see the module rules)."""
    return tuple(
        request_of(facts, category, any(
            item.opened for item in facts.items
            if (item.category or UNKNOWN_CATEGORY) == category))
        for category in categories_of(facts))


def request_of(facts: RefundFacts, category: str = UNKNOWN_CATEGORY,
               opened: bool = False) -> RefundRequest:
    """The policy engine's request for ``facts`` seen as goods of ``category``."""
    paid = facts.paid if facts.paid and facts.paid.currency == facts.amount.currency else None
    return RefundRequest(
        refund_id=f"{facts.store_id}/{facts.refund_id}",
        amount=facts.amount,
        channel=facts.channel,
        marketplace_id=facts.marketplace_id or f"store:{facts.store_id}",
        category=category,
        ordered_at=min(facts.ordered_at, facts.requested_at)
        if facts.ordered_at else facts.requested_at,
        delivered_at=min(facts.delivered_at, facts.requested_at)
        if facts.delivered_at else None,
        opened=opened,
        grade=Grade(facts.grade) if facts.grade else None,
        mismatch=facts.mismatch,
        amount_paid=paid or facts.amount,
        high_risk=facts.high_risk,
        customer_key=facts.customer_key or "",
    )


def awaiting_inspection(facts: RefundFacts, policy: CompiledPolicy) -> str | None:
    """Why the refund waits for its inspection before the policy decides it, or None."""
    if facts.grade is not None:
        return None
    waiting = [category for category in categories_of(facts)
               if policy.timing_for(facts.channel, category) is Timing.AFTER_INSPECTION]
    if not waiting:
        return None
    return (f"refund after inspection ({facts.channel.value} / {', '.join(waiting)}): "
            "the policy decides once the item's inspection is recorded")


def waiting_verdict(reason: str) -> Verdict:
    """The verdict of a refund that waits for its inspection."""
    return _verdict(RefundOutcome.AWAITING_INSPECTION, None, (reason,), None)


def mixed_note(facts: RefundFacts, decision: Decision) -> str | None:
    """A sentence when several categories were decided and one decision stands for all."""
    categories = categories_of(facts)
    if len(categories) < 2:
        return None
    category = next((str(value) for rule in decision.rules if rule.rule_id.startswith("timing.")
                     for key, value in rule.data if key == "category"), categories[0])
    return (f"the return mixes categories ({', '.join(categories)}); the strictest decision "
            f"({category}) stands for the whole refund")


def top_level(policy: CompiledPolicy) -> int:
    """The highest approval level the policy uses (manual review asks for it), at least 1."""
    return max((tier.level or 1 for tier in policy.tiers), default=1)


def verdict_of(decision: Decision, top: int) -> Verdict:
    """The move, wire outcome and level a decision leads to (manual review: the ``top`` level)."""
    reasons = decision.reasons()
    if decision.outcome is Outcome.AUTO_APPROVE:
        return _verdict(RefundOutcome.APPROVED, None, reasons, decision)
    if decision.outcome is Outcome.NEEDS_APPROVAL:
        return _verdict(RefundOutcome.PENDING_APPROVAL, decision.level, reasons, decision)
    if decision.outcome is Outcome.MANUAL_REVIEW:
        return _verdict(RefundOutcome.MANUAL_REVIEW, top, reasons, decision)
    return _verdict(RefundOutcome.REJECTED, None, reasons, decision)


def decision_columns(decision: Decision) -> dict[str, Any]:
    """The refund columns that record a decision: version, record (rules, FX), base amount."""
    return {
        "policy_version": decision.policy_version,
        "decision": decision.as_record(),
        "base_amount": decision.base_amount,
        "base_currency": decision.base_currency,
    }


def wire_rules(record: Any) -> list[DecisionRule]:
    """The fired rules of a stored decision record (``Decision.as_record``) as the store is told
    them: the first ``MAX_RULES`` the wire can carry, each with at most ``MAX_RULE_PARAMS``
    parameters clipped to ``MAX_TEXT_CHARS``; None or a record without rules gives none."""
    found: list[DecisionRule] = []
    rules = record.get("rules") if isinstance(record, dict) else None
    for rule in rules or []:
        data = rule.get("data") or {}
        kept = list(data.items())[:MAX_RULE_PARAMS]
        params = {str(key): clip(str(value), MAX_TEXT_CHARS) for key, value in kept}
        try:
            found.append(DecisionRule(code=rule["rule_id"], effect=rule.get("effect"),
                                      level=rule.get("level"), params=params))
        except (ValidationError, KeyError):
            continue  # the desk still has it in the reasons; the store says it in general words
        if len(found) == MAX_RULES:
            break
    return found


def indexed_rules(decision: Decision) -> list[str]:
    """Rule ids the desk can filter by (every fired rule but the timing notes)."""
    return sorted({rule.rule_id for rule in decision.rules if rule.effect is not Effect.TIMING})


def offline_refusal(amount: Money, channel: Channel, limit: Money | None) -> str | None:
    """Why a store's offline approval does not stand, or None when it does."""
    if channel is not Channel.POS:
        return f"only POS sales may be refunded offline, this was {channel.value}"
    if limit is None:
        return "the store has no offline refund limit"
    if limit.currency != amount.currency:
        return f"the store's offline limit is in {limit.currency}, the refund in {amount.currency}"
    if amount.amount > limit.amount:
        return f"{amount} is above the store's offline limit of {limit}"
    return None


def offline_verdict(verdict: Verdict, refusal: str | None, staff: str, top: int) -> Verdict:
    """The verdict for a refund the store already approved offline (``staff`` approved it)."""
    if refusal is None:
        said = f"approved offline at the counter by {staff}, within the store's limit"
        return _verdict(RefundOutcome.APPROVED, None, (*verdict.reasons, said), verdict.decision,
                        f"store:{staff}")
    said = f"approved offline at the counter by {staff}, but {refusal}: flagged for review"
    return _verdict(RefundOutcome.MANUAL_REVIEW, top, (*verdict.reasons, said), verdict.decision)
