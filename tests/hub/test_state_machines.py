"""Refund and return state machines, by table: every allowed move, and every other one refused."""

from __future__ import annotations

import itertools

import pytest

from hub.errors import InvalidTransition
from hub.refunds import states as refunds
from hub.refunds.states import RefundAction as A
from hub.refunds.states import RefundState as S
from hub.returns import states as returns
from hub.returns.states import ReturnAction as RA
from hub.returns.states import ReturnState as R

REFUND_MOVES = [
    (S.REQUESTED, A.AUTO_APPROVE, S.APPROVED),
    (S.REQUESTED, A.HOLD, S.PENDING_APPROVAL),
    (S.REQUESTED, A.REJECT, S.REJECTED),
    (S.REQUESTED, A.WAIT, S.AWAITING_INSPECTION),
    (S.AWAITING_INSPECTION, A.AUTO_APPROVE, S.APPROVED),
    (S.AWAITING_INSPECTION, A.HOLD, S.PENDING_APPROVAL),
    (S.AWAITING_INSPECTION, A.REJECT, S.REJECTED),
    (S.PENDING_APPROVAL, A.APPROVE, S.APPROVED),
    (S.PENDING_APPROVAL, A.REJECT, S.REJECTED),
    (S.APPROVED, A.SUBMIT, S.SUBMITTED),
    (S.APPROVED, A.FAIL, S.FAILED),
    (S.SUBMITTED, A.CONFIRM, S.CONFIRMED),
    (S.SUBMITTED, A.FAIL, S.FAILED),
    (S.FAILED, A.RETRY, S.SUBMITTED),
    (S.CONFIRMED, A.SETTLE, S.SETTLED),
]


@pytest.mark.parametrize(("state", "action", "after"), REFUND_MOVES)
def test_refund_moves(state: S, action: A, after: S) -> None:
    assert refunds.transition(state, action) is after


def test_every_other_refund_move_is_refused_with_a_sentence() -> None:
    allowed = {(s, a) for s, a, _ in REFUND_MOVES}
    refused = [(s, a) for s, a in itertools.product(S, A) if (s, a) not in allowed]
    assert len(refused) == len(S) * len(A) - len(REFUND_MOVES)
    for state, action in refused:
        with pytest.raises(InvalidTransition, match=f"cannot {action.value} a refund that is "
                                                    f"{state.value}"):
            refunds.transition(state, action)


@pytest.mark.parametrize(("state", "manual_review", "told"), [
    (S.APPROVED, False, "approved"),
    (S.APPROVED, True, "approved"),            # the flag matters only while it waits
    (S.PENDING_APPROVAL, False, "pending_approval"),
    (S.PENDING_APPROVAL, True, "manual_review"),
    (S.REJECTED, False, "rejected"),
    (S.REJECTED, True, "rejected"),
    (S.AWAITING_INSPECTION, False, "awaiting_inspection"),
])
def test_what_the_store_is_told_per_state(state: S, manual_review: bool, told: str) -> None:
    assert refunds.outcome_of(state, manual_review).value == told


def test_every_policy_outcome_has_an_action_from_requested() -> None:
    for outcome, action in refunds.ACTION_FOR_OUTCOME.items():
        after = refunds.transition(S.REQUESTED, action)
        manual = outcome.value == "manual_review"
        assert refunds.outcome_of(after, manual) is outcome
        if outcome.value != "awaiting_inspection":  # a waiting refund is decided like a new one
            assert refunds.transition(S.AWAITING_INSPECTION, action) is after


def test_final_states_accept_nothing() -> None:
    for final in (S.REJECTED, S.SETTLED):
        assert refunds.allowed(final) == []
    with pytest.raises(InvalidTransition, match="nothing"):
        refunds.transition(S.SETTLED, A.APPROVE)


def test_double_approval_is_refused() -> None:
    approved = refunds.transition(S.PENDING_APPROVAL, A.APPROVE)
    with pytest.raises(InvalidTransition, match="cannot approve a refund that is approved"):
        refunds.transition(approved, A.APPROVE)


RETURN_MOVES = [
    (None, RA.RECEIVE, R.RECEIVED),
    (R.EXPECTED, RA.RECEIVE, R.RECEIVED),
    (R.RECEIVED, RA.INSPECT, R.INSPECTED),
    (R.INSPECTED, RA.INSPECT, R.INSPECTED),
    (R.INSPECTED, RA.DISPOSE, R.DISPOSED),
]


@pytest.mark.parametrize(("state", "action", "after"), RETURN_MOVES)
def test_return_moves(state: R | None, action: RA, after: R) -> None:
    assert returns.transition(state, action) is after


def test_nothing_is_disposed_before_inspection_and_other_moves_are_refused() -> None:
    allowed = {(s, a) for s, a, _ in RETURN_MOVES}
    for state, action in itertools.product([None, *R], RA):
        if (state, action) not in allowed:
            with pytest.raises(InvalidTransition):
                returns.transition(state, action)
    with pytest.raises(InvalidTransition, match="cannot dispose a return that is received"):
        returns.transition(R.RECEIVED, RA.DISPOSE)
