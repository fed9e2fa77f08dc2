"""The hub's view of a return's lifecycle, as a table.

    (none) ──receive──▶ received ──inspect──▶ inspected ──dispose──▶ disposed
                                                └─inspect─┘ (re-inspection)

``expected`` is where an announced RMA starts (the Amazon issue creates those); nothing is
disposed (restocked) before it is inspected.
"""

from __future__ import annotations

from enum import StrEnum

from hub.errors import InvalidTransition


class ReturnState(StrEnum):
    """Where a return is."""

    EXPECTED = "expected"
    RECEIVED = "received"
    INSPECTED = "inspected"
    DISPOSED = "disposed"


class ReturnAction(StrEnum):
    """What a store reports about a return."""

    RECEIVE = "receive"
    INSPECT = "inspect"
    DISPOSE = "dispose"


R, RA = ReturnState, ReturnAction
TRANSITIONS: dict[tuple[ReturnState | None, ReturnAction], ReturnState] = {
    (None, RA.RECEIVE): R.RECEIVED,
    (R.EXPECTED, RA.RECEIVE): R.RECEIVED,
    (R.RECEIVED, RA.INSPECT): R.INSPECTED,
    (R.INSPECTED, RA.INSPECT): R.INSPECTED,
    (R.INSPECTED, RA.DISPOSE): R.DISPOSED,
}


def transition(state: ReturnState | None, action: ReturnAction) -> ReturnState:
    """The state after ``action``; InvalidTransition if the table has no such move."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        where = state.value if state else "unknown to the hub"
        raise InvalidTransition(f"cannot {action.value} a return that is {where}",
                                field="state") from None
