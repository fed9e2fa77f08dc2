"""The edge's side of the return state machine, and the counter's pure decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge_agent.errors import InvalidRequest, TransitionRefused
from edge_agent.returns.states import (
    REFUSALS,
    TRANSITIONS,
    Action,
    ReturnState,
    allowed_actions,
    decision_supersedes,
    mismatches,
    next_state,
    total_of,
)
from protocol import Channel, ExpectedReturn, Money, ReturnItem

E, R, INS, D = (ReturnState.EXPECTED, ReturnState.RECEIVED, ReturnState.INSPECTED,
              ReturnState.DISPOSED)
RECEIVE, INSPECT, DISPOSE = Action.RECEIVE, Action.INSPECT, Action.DISPOSE

@pytest.mark.parametrize(("state", "action"), sorted(REFUSALS, key=repr))
def test_a_refused_move_is_a_409_saying_the_shared_sentence(state: ReturnState | None,
                                                             action: Action) -> None:
    """The edge's adapter: protocol's refusal becomes the agent's TransitionRefused (HTTP 409)
    with the very sentence staff are shown (the table itself is tested in tests/protocol)."""
    with pytest.raises(TransitionRefused) as caught:
        next_state(state, action)
    assert caught.value.status_code == 409
    assert caught.value.message == REFUSALS[(state, action)]


@pytest.mark.parametrize(("state", "action"), sorted(TRANSITIONS, key=repr))
def test_an_allowed_move_answers_the_shared_next_state(state: ReturnState | None,
                                                       action: Action) -> None:
    assert next_state(state, action) is TRANSITIONS[(state, action)]


def test_nothing_is_restocked_before_inspection() -> None:
    assert DISPOSE not in allowed_actions(R)
    assert allowed_actions(R) == [INSPECT]
    assert allowed_actions(INS) == [DISPOSE]
    assert allowed_actions(D) == []


def item(sku: str, qty: int, amount: str = "10.00", currency: str = "USD") -> ReturnItem:
    return ReturnItem(sku=sku, quantity=qty, unit_price=Money.of(amount, currency))


def test_total_is_exact_and_in_one_currency() -> None:
    assert total_of([item("A", 3, "0.10"), item("B", 1, "19.99")]) == Money.of("20.29", "USD")
    with pytest.raises(InvalidRequest) as caught:
        total_of([item("A", 1), item("B", 1, "1.00", "EUR")])
    assert caught.value.field == "items.1.unit_price.currency"


RMA = ExpectedReturn(rma_id="RMA1", order_id="O-1", channel=Channel.AMAZON_MFN,
                     items=[item("A", 1), item("B", 2)])


@pytest.mark.parametrize(("items", "order_id", "found"), [
    ([item("A", 1), item("B", 2)], None, []),
    ([item("B", 1), item("A", 1), item("B", 1)], "O-1", []),
    ([item("A", 1)], None, ["B (x2) on RMA RMA1 was not returned"]),
    ([item("A", 1), item("B", 2), item("C", 1)], None, ["C is not on RMA RMA1"]),
    ([item("A", 2), item("B", 2)], None, ["A: returned 2, RMA RMA1 expects 1"]),
    ([item("A", 1), item("B", 2)], "O-2", ["order O-2 is not the RMA's order O-1"]),
])
def test_mismatch_against_the_expected_return(items: list[ReturnItem], order_id: str | None,
                                              found: list[str]) -> None:
    assert mismatches(items, order_id, RMA) == found


def test_no_expected_return_means_no_mismatch() -> None:
    assert mismatches([item("Z", 9)], "O-9", None) == []


def test_a_late_decision_does_not_replace_a_newer_one() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert decision_supersedes(None, now)
    assert decision_supersedes(now, now + timedelta(seconds=1))
    assert not decision_supersedes(now, now - timedelta(seconds=1))
