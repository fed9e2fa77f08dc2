"""The hub's view of a return's lifecycle: the table shared with the stores.

Rules:
- the states, actions and moves are ``protocol.return_states`` — the same table the counter
  uses, so the hub accepts exactly the moves a store can make (why a return is inspected once is
  written there); the hub never keeps a copy of its own;
- ``transition`` only turns the table's refusal into the hub's ``InvalidTransition`` (the
  ingest dead-letters the event with that sentence and the node's stream moves on).
"""

from __future__ import annotations

from hub.errors import InvalidTransition
from protocol.return_states import TRANSITIONS, ReturnAction, ReturnState, State, TransitionError
from protocol.return_states import transition as _table_transition

__all__ = ["TRANSITIONS", "ReturnAction", "ReturnState", "State", "transition"]


def transition(state: State, action: ReturnAction) -> ReturnState:
    """The state after ``action``; InvalidTransition with the table's sentence if not allowed."""
    try:
        return _table_transition(state, action)
    except TransitionError as err:
        raise InvalidTransition(str(err), field="state") from err
