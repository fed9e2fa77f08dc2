"""The refund state machine, as a table.

    requested ──auto_approve──▶ approved
        │  └──hold──▶ pending_approval ──approve──▶ approved
        │                   └──reject──▶ rejected
        ├──reject──▶ rejected
        └──wait──▶ awaiting_inspection ──auto_approve / hold / reject──▶ (as from requested)
    approved ──submit──▶ submitted ──confirm──▶ confirmed ──settle──▶ settled
    approved / submitted ──fail──▶ failed ──retry──▶ submitted

A refund the policy sends to manual review waits in ``pending_approval`` at the top approval
level with its outcome ``manual_review`` (``outcome_of``): the same moves, a stricter approver.

A refund whose policy timing is "after inspection" waits in ``awaiting_inspection`` until the
return's inspection reaches the hub; the policy then decides it, with the grade, as it would a
fresh request.

A failed refund is retried (``retry`` back to ``submitted``), never issued a second time: the
submission carries the same refund id. Anything not in ``TRANSITIONS`` raises
``InvalidTransition`` with a sentence an approver can read.
"""

from __future__ import annotations

from enum import StrEnum

from hub.errors import InvalidTransition
from protocol import RefundOutcome


class RefundState(StrEnum):
    """Where a refund is."""

    REQUESTED = "requested"
    AWAITING_INSPECTION = "awaiting_inspection"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    SETTLED = "settled"
    FAILED = "failed"


class RefundAction(StrEnum):
    """What can happen to a refund."""

    AUTO_APPROVE = "auto_approve"
    WAIT = "wait"
    HOLD = "hold"
    APPROVE = "approve"
    REJECT = "reject"
    SUBMIT = "submit"
    CONFIRM = "confirm"
    SETTLE = "settle"
    FAIL = "fail"
    RETRY = "retry"


S, A = RefundState, RefundAction
TRANSITIONS: dict[tuple[RefundState, RefundAction], RefundState] = {
    (S.REQUESTED, A.AUTO_APPROVE): S.APPROVED,
    (S.REQUESTED, A.HOLD): S.PENDING_APPROVAL,
    (S.REQUESTED, A.REJECT): S.REJECTED,
    (S.REQUESTED, A.WAIT): S.AWAITING_INSPECTION,
    (S.AWAITING_INSPECTION, A.AUTO_APPROVE): S.APPROVED,
    (S.AWAITING_INSPECTION, A.HOLD): S.PENDING_APPROVAL,
    (S.AWAITING_INSPECTION, A.REJECT): S.REJECTED,
    (S.PENDING_APPROVAL, A.APPROVE): S.APPROVED,
    (S.PENDING_APPROVAL, A.REJECT): S.REJECTED,
    (S.APPROVED, A.SUBMIT): S.SUBMITTED,
    (S.APPROVED, A.FAIL): S.FAILED,
    (S.SUBMITTED, A.CONFIRM): S.CONFIRMED,
    (S.SUBMITTED, A.FAIL): S.FAILED,
    (S.FAILED, A.RETRY): S.SUBMITTED,
    (S.CONFIRMED, A.SETTLE): S.SETTLED,
}

# The answer the store is told for each state a decision can leave a refund in.
OUTCOME_OF: dict[RefundState, RefundOutcome] = {
    S.APPROVED: RefundOutcome.APPROVED,
    S.AWAITING_INSPECTION: RefundOutcome.AWAITING_INSPECTION,
    S.PENDING_APPROVAL: RefundOutcome.PENDING_APPROVAL,
    S.REJECTED: RefundOutcome.REJECTED,
}

# The action that carries out a policy outcome on a refund not yet decided.
ACTION_FOR_OUTCOME: dict[RefundOutcome, RefundAction] = {
    RefundOutcome.APPROVED: A.AUTO_APPROVE,
    RefundOutcome.PENDING_APPROVAL: A.HOLD,
    RefundOutcome.MANUAL_REVIEW: A.HOLD,
    RefundOutcome.REJECTED: A.REJECT,
    RefundOutcome.AWAITING_INSPECTION: A.WAIT,
}


def outcome_of(state: RefundState, manual_review: bool = False) -> RefundOutcome:
    """What the store is told about a decided refund; KeyError for a state no decision leaves."""
    if manual_review and state is S.PENDING_APPROVAL:
        return RefundOutcome.MANUAL_REVIEW
    return OUTCOME_OF[state]


def allowed(state: RefundState) -> list[RefundAction]:
    """The actions a refund in ``state`` accepts."""
    return [action for (from_state, action) in TRANSITIONS if from_state is state]


def transition(state: RefundState, action: RefundAction) -> RefundState:
    """The state after ``action``; InvalidTransition if the table has no such move."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        can = ", ".join(allowed(state)) or "nothing (it is final)"
        raise InvalidTransition(
            f"cannot {action.value} a refund that is {state.value}; it accepts: {can}",
            field="state") from None
