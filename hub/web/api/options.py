"""The desk's choices: the values the API takes and returns, each with words a person reads.

Rules:
- ``GET /api/options`` lists, per group, ``{"value", "label"}`` pairs in the order a person
  should see them: refund states and outcomes, channels, grades, roles, rule effects, approval
  levels, marketplaces, the queue's reasons (rule ids), ``waiting_for``, ages, ``review`` and
  the policy's ``timings``;
- a value is text exactly as the API's query parameters take it and its bodies return it
  (``"1"`` for level 1, ``"true"`` for review); the desk fills its selects and names its badges
  from this answer and keeps no copy of its own;
- the values come from their homes (``protocol``, ``hub.refunds``, ``hub.access``,
  ``hub.amazon.marketplaces``, ``hub.policy``, the active policy's tiers); this module only adds
  the words, and a member without words fails at import, not on a page;
- who may approve at each level is asked of ``approval_refusal`` itself, so the words cannot
  drift from the rights; ages follow the desk's target (due at half of it, late at it);
- anyone who may view the queue may read it (401 without a caller, 403 without ``view``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any, get_args

from fastapi import APIRouter
from pydantic import BaseModel, Field

from hub.access.permissions import (
    TOP_LEVEL,
    PendingRefund,
    Principal,
    Role,
    StorePlace,
    approval_refusal,
)
from hub.amazon.marketplaces import MARKETPLACES
from hub.policy import CompiledPolicy, Effect, Timing
from hub.policy import store as policy_store
from hub.refunds.queue import WaitingFor
from hub.refunds.states import RefundState
from hub.storage.engine import reading
from hub.web.api.deps import Hub, Viewer
from hub.web.api.models import ErrorOut
from protocol import Channel, Grade, Money, RefundOutcome

router = APIRouter(prefix="/api", tags=["desk"])
ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorOut} for status in (401, 403)}


class OptionOut(BaseModel):
    """One choice: the value the API speaks and the words the desk shows."""

    value: str = Field(examples=["pending_approval"])
    label: str = Field(examples=["waiting for approval"])


class OptionsOut(BaseModel):
    """Every group of choices the desk shows."""

    refund_states: list[OptionOut]
    refund_outcomes: list[OptionOut]
    channels: list[OptionOut]
    grades: list[OptionOut]
    roles: list[OptionOut]
    effects: list[OptionOut]
    approval_levels: list[OptionOut] = Field(description="who may approve at each level")
    marketplaces: list[OptionOut] = Field(description="``none``: a sale without a marketplace")
    reasons: list[OptionOut] = Field(description="rule ids the policy fires (the queue's reason)")
    waiting_for: list[OptionOut]
    ages: list[OptionOut] = Field(description="``min_age_hours`` choices")
    review: list[OptionOut]
    timings: list[OptionOut] = Field(description="when the policy refunds (its editor's choices)")


def _worded(enum: type[StrEnum], words: Mapping[str, str]) -> dict[str, str]:
    """``words`` for every member of ``enum``, in the enum's order; KeyError names a gap."""
    missing = [m.value for m in enum if m.value not in words]
    if missing:
        raise KeyError(f"{enum.__name__} has no words for {missing}")
    return {m.value: words[m.value] for m in enum}


REFUND_STATES = _worded(RefundState, {
    "requested": "requested",
    "awaiting_inspection": "waiting for the store's inspection",
    "pending_approval": "waiting for approval",
    "approved": "approved",
    "rejected": "rejected",
    "submitted": "sent to be paid",
    "confirmed": "paid back",
    "settled": "settled",
    "failed": "payment failed",
})
REFUND_OUTCOMES = _worded(RefundOutcome, {
    "approved": "approved",
    "pending_approval": "needs approval",
    "manual_review": "manual review",
    "rejected": "rejected",
    "awaiting_inspection": "refund after inspection",
})
CHANNELS = _worded(Channel, {
    "amazon_mfn": "Amazon (we ship)",
    "amazon_fba": "Amazon (Amazon ships)",
    "pos": "store till",
    "web": "web shop",
})
GRADES = _worded(Grade, {
    "new": "new",
    "like_new": "like new",
    "good": "good",
    "acceptable": "acceptable",
    "defective": "defective",
    "damaged_in_transit": "damaged in transit",
    "damaged_by_customer": "damaged by the customer",
})
ROLES = _worded(Role, {
    "viewer": "viewer",
    "store_staff": "store staff",
    "store_manager": "store manager",
    "regional_manager": "regional manager",
    "finance": "finance",
    "admin": "administrator",
    "technician": "technician",
})
EFFECTS = _worded(Effect, {
    "auto_approve": "approves",
    "needs_approval": "needs approval",
    "manual_review": "manual review",
    "reject": "rejects",
    "waived": "set aside",
    "timing": "timing",
    "note": "note",
})
TIMINGS = _worded(Timing, {
    "on_scan": "refund on scan",
    "after_inspection": "refund after inspection",
    "after_approval": "a person approves first",
})
# The rule ids the policy fires besides its tiers and timings (a test reads them from the code).
RULES = {
    "marketplace.default": "marketplace without rules of its own",
    "fx.no_rate": "no exchange rate",
    "amount.out_of_range": "amount too large to convert",
    "amount.not_positive": "amount not above zero",
    "risk.item_mismatch": "scanned item is not the ordered item",
    "risk.grade": "inspection grade needs a person",
    "risk.high_risk_order": "order or customer flagged high-risk",
    "risk.frequent_refunder": "frequent refunder",
    "risk.paid_unknown": "amount paid unknown",
    "risk.over_paid": "refund above the amount paid",
    "warranty.claim": "warranty claim",
    "withdrawal.right": "statutory withdrawal period",
    "window.expired": "return window closed",
    "opened.excluded": "opened goods excluded",
}
WAITING_FOR = {"approval": "approval", "inspection": "inspection at the store"}
REVIEW = {"true": "manual review", "false": "not flagged"}
NO_MARKETPLACE = "none (store or web sale)"
if set(WAITING_FOR) != set(get_args(WaitingFor)):
    raise KeyError(f"waiting_for words do not match {get_args(WaitingFor)}")


def _pairs(words: Mapping[str, str]) -> list[OptionOut]:
    return [OptionOut(value=v, label=label) for v, label in words.items()]


def approvers_at(level: int) -> list[Role]:
    """The roles that may approve a refund at ``level`` anywhere in their scope."""
    place = StorePlace("any")
    refund = PendingRefund(place, Money.of("1", "USD"), level, False, None)
    return [role for role in Role
            if approval_refusal(Principal("probe", role), refund, None) is None]


def approval_levels(policy: CompiledPolicy | None) -> list[OptionOut]:
    """Levels 1 up to the top one and any the active policy's tiers ask for, with approvers."""
    levels = set(range(1, TOP_LEVEL + 1))
    if policy is not None:
        levels |= {tier.level for tier in policy.tiers if tier.level}
    return [OptionOut(value=str(level), label=f"level {level} · " + ", ".join(
        ROLES[role.value] for role in approvers_at(level))) for level in sorted(levels)]


def _tier_words(bound: Decimal | None, inclusive: bool, level: int | None, base: str) -> str:
    amount = "the rest" if bound is None else f"{'up to' if inclusive else 'under'} {bound} {base}"
    return f"amount {amount}: " + (f"approval at level {level}" if level else "approved")


def reasons(policy: CompiledPolicy | None) -> list[OptionOut]:
    """The active policy's tiers, the fixed rules and the timings, as rule ids with words."""
    tiers = [] if policy is None else [
        OptionOut(value=t.rule_id,
                  label=_tier_words(t.bound, t.inclusive, t.level, policy.base_currency))
        for t in policy.tiers
    ]
    timings = {f"timing.{value}": words for value, words in TIMINGS.items()}
    return tiers + _pairs(RULES) + _pairs(timings)


def ages(target_hours: float) -> list[OptionOut]:
    """``min_age_hours`` choices: due (half the target), late (the target), twice late."""
    named = ((target_hours / 2, "due"), (target_hours, "late"), (target_hours * 2, "twice late"))
    return [OptionOut(value=f"{hours:g}", label=f"over {hours:g} h ({word})")
            for hours, word in named]


def marketplaces() -> list[OptionOut]:
    """``none`` (a store or web sale), then every marketplace ACORN sells in."""
    amazon = [OptionOut(value=m.marketplace_id, label=f"Amazon {m.code}") for m in MARKETPLACES]
    return [OptionOut(value="none", label=NO_MARKETPLACE), *amazon]


def options(policy: CompiledPolicy | None, target_hours: float) -> OptionsOut:
    """Every group of choices, for the active policy and the desk's target (pure)."""
    return OptionsOut(
        refund_states=_pairs(REFUND_STATES),
        refund_outcomes=_pairs(REFUND_OUTCOMES),
        channels=_pairs(CHANNELS),
        grades=_pairs(GRADES),
        roles=_pairs(ROLES),
        effects=_pairs(EFFECTS),
        approval_levels=approval_levels(policy),
        marketplaces=marketplaces(),
        reasons=reasons(policy),
        waiting_for=_pairs(WAITING_FOR),
        ages=ages(target_hours),
        review=_pairs(REVIEW),
        timings=_pairs(TIMINGS),
    )


@router.get("/options", response_model=OptionsOut, responses=ERRORS)
def get_options(hub: Hub, _who: Viewer) -> OptionsOut:
    """The desk's choices with their labels: enums, approval levels, marketplaces, reasons."""
    with reading(hub.engine) as conn:
        active = policy_store.active(conn)
    return options(active.compiled if active else None, hub.settings.desk_target_hours)
