"""From what the hub knows about a refund to the policy engine's requests, and back to a state.

Pure: no I/O. The engine itself is ``hub.policy.decide``; this module is its adapter.

Rules:
- the request uses what the hub knows: amount, channel, marketplace (``store:<id>`` when the sale
  has none, so the policy's default rules apply and say so), the inspection grade if any, the
  return's mismatch flag, amount paid = the return's items total (the refund amount itself when
  the items are in another currency or unknown), whether the order or the customer is flagged
  high-risk (``hub.risk.flags``);
- category and opened come from the returned items as the store recorded them (``unknown`` and
  not opened when it did not say). A return whose items fall in several categories is one
  request per category (opened when any of its items in that category was opened), and the
  strictest decision stands (``hub.policy.decide_all``);
- the order date: for an Amazon sale (``amazon_mfn``/``amazon_fba``) whose order the Amazon sync
  holds (``OrderFacts``), its purchase date and marketplace (when the refund and return name
  none), and its promised latest delivery as the delivery day (in the customer's favour when the
  parcel came earlier); otherwise the sale date the store recorded (``sold_at``); otherwise the
  request time. Neither is ever later than the request;
- the customer: the synced order's keyed buyer hash (``buyer:<hex>``) when the sync knows the
  buyer, so the frequent-refunder rule sees the buyer's refunds across orders; otherwise the
  order (``order:<id>``); no history without either;
- timing: a refund whose policy timing is ``after_inspection`` for any of its categories, and
  whose return has no inspection yet, is not decided: it waits (``awaiting_inspection``) and is
  decided when the inspection reaches the hub, as of its request time. A refund the store already
  paid out offline is decided at once (the money has moved);
- outcomes map to refund states: auto-approve → approved (decided by ``policy:auto``);
  needs approval → pending_approval at its level; manual review → pending_approval at the top
  level, with outcome ``manual_review``; reject → rejected (decided by ``policy:auto``);
- a POS refund a store approved offline stands when it is within the store's offline limit (same
  currency); above it (or without a limit, or not a POS sale) it goes to manual review.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.policy import CompiledPolicy, Decision, Effect, Outcome, RefundRequest, Timing
from hub.refunds.states import RefundState
from hub.storage.money import money_of
from protocol import Channel, Grade, Money, RefundOutcome

AUTO_ACTOR = "policy:auto"
AUTO_ROLE = "policy"
UNKNOWN_CATEGORY = "unknown"


@dataclass(frozen=True)
class ItemFacts:
    """One returned line as the policy sees it."""

    category: str | None  # None: the store did not say
    opened: bool | None  # None: the counter did not ask


@dataclass(frozen=True)
class RefundFacts:
    """What the hub knows about one refund request when it decides."""

    store_id: str
    refund_id: str
    amount: Money
    channel: Channel
    marketplace_id: str | None
    requested_at: datetime
    grade: str | None
    mismatch: bool
    paid: Money | None
    customer_key: str | None
    ordered_at: datetime | None = None  # the synced order's or the sale's date; None: request
    delivered_at: datetime | None = None
    items: tuple[ItemFacts, ...] = ()
    high_risk: bool = False


@dataclass(frozen=True)
class OrderFacts:
    """What the Amazon sync knows about one order (never the buyer's name, email or address)."""

    order_id: str
    marketplace_id: str
    purchased_at: datetime
    buyer_key: str | None = None  # a keyed hash of Amazon's anonymised buyer email; None: unknown
    deliver_by: datetime | None = None  # the promised latest delivery; None: not known


AMAZON_CHANNELS = frozenset({Channel.AMAZON_MFN, Channel.AMAZON_FBA})


def order_facts_for(
    channel: Channel, order_id: str | None, marketplace_id: str | None,
    orders: dict[str, OrderFacts],
) -> OrderFacts | None:
    """The synced order of an Amazon sale, or None (not Amazon, no order id, unknown order, or
    an order of another marketplace than the one the refund names)."""
    if channel not in AMAZON_CHANNELS or not order_id:
        return None
    order = orders.get(order_id)
    if order is None or (marketplace_id and marketplace_id != order.marketplace_id):
        return None
    return order


@dataclass(frozen=True)
class Verdict:
    """Where a decision leaves a refund."""

    state: RefundState
    outcome: RefundOutcome
    level: int | None
    reasons: tuple[str, ...]

    @property
    def final(self) -> bool:
        """True when the policy settled it (approved or rejected): no person needs to act."""
        return self.state in (RefundState.APPROVED, RefundState.REJECTED)


def lines_facts(lines: Sequence[Mapping[str, Any]]) -> tuple[Money | None, tuple[ItemFacts, ...]]:
    """What the policy needs of a return's lines (``return_items`` rows, in line order): their
    total (None when there are none or they mix currencies) and each line's category and
    opened flag."""
    currencies = {line["currency"] for line in lines}
    paid = money_of(sum(line["unit_price"] * line["quantity"] for line in lines),
                    currencies.pop()) if len(currencies) == 1 else None
    return paid, tuple(ItemFacts(line["category"], line["opened"]) for line in lines)


def customer_key_of(order_id: str | None, order: OrderFacts | None = None) -> str | None:
    """How the hub recognises the same customer: the synced buyer, else the order, else None."""
    if order is not None and order.buyer_key:
        return f"buyer:{order.buyer_key}"
    return f"order:{order_id}" if order_id else None


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
    return Verdict(RefundState.AWAITING_INSPECTION, RefundOutcome.AWAITING_INSPECTION, None,
                   (reason,))


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
    """The refund state, wire outcome and level a decision leads to."""
    reasons = decision.reasons()
    if decision.outcome is Outcome.AUTO_APPROVE:
        return Verdict(RefundState.APPROVED, RefundOutcome.APPROVED, None, reasons)
    if decision.outcome is Outcome.NEEDS_APPROVAL:
        return Verdict(
            RefundState.PENDING_APPROVAL, RefundOutcome.PENDING_APPROVAL, decision.level, reasons
        )
    if decision.outcome is Outcome.MANUAL_REVIEW:
        return Verdict(RefundState.PENDING_APPROVAL, RefundOutcome.MANUAL_REVIEW, top, reasons)
    return Verdict(RefundState.REJECTED, RefundOutcome.REJECTED, None, reasons)


def decision_columns(decision: Decision) -> dict[str, Any]:
    """The refund columns that record a decision: version, record (rules, FX), base amount."""
    return {
        "policy_version": decision.policy_version,
        "decision": decision.as_record(),
        "base_amount": decision.base_amount,
        "base_currency": decision.base_currency,
    }


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
        return Verdict(RefundState.APPROVED, RefundOutcome.APPROVED, None, (*verdict.reasons, said))
    said = f"approved offline at the counter by {staff}, but {refusal}: flagged for review"
    return Verdict(
        RefundState.PENDING_APPROVAL, RefundOutcome.MANUAL_REVIEW, top, (*verdict.reasons, said)
    )
