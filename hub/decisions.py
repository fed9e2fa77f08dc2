"""The placeholder refund decision: a pure function of the amount and the configured limits.

Rules (until the policy engine of issue 5 replaces this module's ``decide``):
- an amount strictly under its currency's auto-approve limit is approved by ``policy:auto``;
- anything else (at or over the limit, or a currency without a limit) waits for an approver at
  level 1;
- the reasons say which rule fired, in words an approver understands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from protocol import Money, RefundOutcome

AUTO_ACTOR = "policy:auto"
AUTO_ROLE = "policy"


@dataclass(frozen=True)
class Decision:
    """The policy's answer: outcome, the approval level it needs, and why."""

    outcome: RefundOutcome
    approval_level: int | None
    reasons: tuple[str, ...]


def decide(amount: Money, limits: Mapping[str, Decimal]) -> Decision:
    """Approve under the currency's limit, otherwise ask a level-1 approver."""
    limit = limits.get(amount.currency)
    if limit is None:
        return Decision(RefundOutcome.PENDING_APPROVAL, 1, (
            f"no auto-approve limit is configured for {amount.currency}",))
    shown = f"{format(limit, 'f')} {amount.currency}"
    if amount.amount < limit:
        return Decision(RefundOutcome.APPROVED, None, (
            f"{amount} is under the auto-approve limit of {shown}",))
    return Decision(RefundOutcome.PENDING_APPROVAL, 1, (
        f"{amount} is not under the auto-approve limit of {shown}",))
