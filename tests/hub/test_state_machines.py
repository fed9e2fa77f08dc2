"""The refund state machine by what it promises, not by a copy of its table.

Every walk through the table (all action sequences up to a length that covers a retry loop) must
keep the promises of ARCHITECTURE.md: no money moves before an approval, a refund is decided
once, submitted once (a failure is retried, never issued again), settled only after it was
confirmed, and nothing happens after a rejection or a settlement. The return state machine is the
shared one in ``protocol.return_states`` (tests/protocol/test_return_states.py); here only the
hub's translation of its refusals is checked.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.errors import InvalidTransition
from hub.refunds import states as refunds
from hub.refunds.states import RefundAction as A
from hub.refunds.states import RefundState as S
from hub.returns import states as returns
from protocol.return_states import REFUSALS, ReturnAction, ReturnState

Step = tuple[A, S]  # an action taken and the state it led to
DECISIONS = {A.AUTO_APPROVE, A.APPROVE, A.REJECT}


def walks(start: S = S.REQUESTED, longest: int = 9) -> Iterator[list[Step]]:
    """Every sequence of allowed moves from ``start`` (up to ``longest`` moves), as steps."""
    todo: list[tuple[S, list[Step]]] = [(start, [])]
    while todo:
        state, path = todo.pop()
        yield path
        if len(path) < longest:
            for action in refunds.allowed(state):
                todo.append((refunds.transition(state, action), [*path, (action, state)]))


def visited(path: list[Step]) -> list[S]:
    """The states a walk went through, in order, the one it ends in included."""
    if not path:
        return [S.REQUESTED]
    last_action, last_state = path[-1]
    return [state for _, state in path] + [refunds.transition(last_state, last_action)]


ALL_WALKS = list(walks())


def test_every_refund_state_can_happen() -> None:
    assert {state for path in ALL_WALKS for state in visited(path)} == set(S)


def test_no_money_moves_before_an_approval() -> None:
    for path in ALL_WALKS:
        states = visited(path)
        for money_state in (S.SUBMITTED, S.CONFIRMED, S.SETTLED, S.FAILED):
            if money_state in states:
                assert S.APPROVED in states[:states.index(money_state)], path


def test_a_refund_is_decided_once_and_issued_once() -> None:
    for path in ALL_WALKS:
        actions = [action for action, _ in path]
        assert sum(action in DECISIONS for action in actions) <= 1, path
        assert actions.count(A.SUBMIT) <= 1, path  # a resubmission is a retry of the same one
        for n, action in enumerate(actions):
            if action is A.RETRY:
                assert actions[n - 1] is A.FAIL, path


def test_a_refund_is_settled_only_after_the_marketplace_confirmed_it() -> None:
    for path in ALL_WALKS:
        states = visited(path)
        if S.SETTLED in states:
            assert S.CONFIRMED in states[:states.index(S.SETTLED)], path


def test_rejected_and_settled_are_final_and_say_so() -> None:
    for final in (S.REJECTED, S.SETTLED):
        assert refunds.allowed(final) == []
        for action in A:
            with pytest.raises(InvalidTransition, match=r"it accepts: nothing \(it is final\)"):
                refunds.transition(final, action)


def test_every_other_refund_state_can_still_end() -> None:
    finals = {S.REJECTED, S.SETTLED}
    for state in set(S) - finals:
        assert any(set(visited(p)) & finals for p in walks(state, longest=5)), state


def test_double_approval_is_refused_with_what_it_accepts() -> None:
    approved = refunds.transition(S.PENDING_APPROVAL, A.APPROVE)
    with pytest.raises(InvalidTransition, match="cannot approve a refund that is approved; "
                                                "it accepts: submit, fail"):
        refunds.transition(approved, A.APPROVE)


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


def test_the_hub_refuses_a_return_move_with_the_shared_sentence() -> None:
    with pytest.raises(InvalidTransition) as caught:
        returns.transition(ReturnState.INSPECTED, ReturnAction.INSPECT)
    assert caught.value.message == REFUSALS[(ReturnState.INSPECTED, ReturnAction.INSPECT)]
    assert caught.value.field == "state"
    assert returns.transition(None, ReturnAction.RECEIVE) is ReturnState.RECEIVED
