"""The return's life, as ONE pure table that the edge agent and the hub both use (no I/O).

    (none) ───receive──▶ received ──inspect──▶ inspected ──dispose──▶ disposed
    expected ─receive──┘

Rules:
- ``expected`` is where an announced return starts (the hub pushes the RMA as
  ``return.expected``); a walk-in return has no state before it is received (``None``) and is
  received directly; a return is received once;
- nothing is inspected before it is received, and nothing is disposed (restocked, returned to the
  vendor, refurbished, …) before it is inspected: nothing is restocked before QC;
- ``disposed`` is final: nothing more is recorded about the return;
- a return is inspected ONCE. The hub's copy of this table used to allow a second inspection
  while the counter refused it; both now refuse it, because
  * QC is recorded at the counter, where the goods are, and the hub only applies what a store
    reports: a move the counter never makes (its database holds one inspection per return) is
    one the hub never needs to accept;
  * a refund that waits for the inspection is decided on its grade; a second grade reaching the
    hub alone would rewrite the hub's record of a return after the refund was decided on it, while
    the store still shows the first grade — the two sides would disagree without anyone noticing;
  * correcting a grade, if that is ever wanted, is a new action with its own event and audit
    entry, added here for both sides at once, not a second ``inspection.recorded``.
  So a second inspection is refused at the counter (409) and dead-lettered at the hub, like every
  other move this table refuses;
- every (state, action) pair is either a move in ``TRANSITIONS`` or refused with the sentence in
  ``REFUSALS`` that a person is shown; ``transition`` raises ``TransitionError`` (a
  ``ProtocolError``) carrying it, which each side translates once into its own error tree (the
  edge's ``TransitionRefused``, a 409; the hub's ``InvalidTransition``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from protocol.errors import TransitionError

__all__ = [
    "REFUSALS",
    "TRANSITIONS",
    "ReturnAction",
    "ReturnState",
    "State",
    "TransitionError",
    "allowed_actions",
    "is_final",
    "lifecycle_rank",
    "transition",
]


class ReturnState(StrEnum):
    """Where a return is in its life (in lifecycle order)."""

    EXPECTED = "expected"
    RECEIVED = "received"
    INSPECTED = "inspected"
    DISPOSED = "disposed"


class ReturnAction(StrEnum):
    """What a store does to a return (and reports to the hub)."""

    RECEIVE = "receive"
    INSPECT = "inspect"
    DISPOSE = "dispose"


State = ReturnState | None  # None: nothing known about the return yet (a walk-in)
_S, _A = ReturnState, ReturnAction

TRANSITIONS: Final[Mapping[tuple[State, ReturnAction], ReturnState]] = MappingProxyType({
    (None, _A.RECEIVE): _S.RECEIVED,
    (_S.EXPECTED, _A.RECEIVE): _S.RECEIVED,
    (_S.RECEIVED, _A.INSPECT): _S.INSPECTED,
    (_S.INSPECTED, _A.DISPOSE): _S.DISPOSED,
})

_NOT_RECEIVED_INSPECT = "cannot inspect a return that has not been received"
_NOT_RECEIVED_DISPOSE = "cannot dispose a return that has not been received"
_ALREADY_RECEIVED = "this return has already been received"
_DISPOSED = "this return is already disposed; nothing more can be recorded"

REFUSALS: Final[Mapping[tuple[State, ReturnAction], str]] = MappingProxyType({
    (None, _A.INSPECT): _NOT_RECEIVED_INSPECT,
    (None, _A.DISPOSE): _NOT_RECEIVED_DISPOSE,
    (_S.EXPECTED, _A.INSPECT): _NOT_RECEIVED_INSPECT,
    (_S.EXPECTED, _A.DISPOSE): _NOT_RECEIVED_DISPOSE,
    (_S.RECEIVED, _A.RECEIVE): _ALREADY_RECEIVED,
    (_S.RECEIVED, _A.DISPOSE):
        "cannot dispose a return that has not been inspected: nothing is restocked before QC",
    (_S.INSPECTED, _A.RECEIVE): _ALREADY_RECEIVED,
    (_S.INSPECTED, _A.INSPECT): "this return has already been inspected",
    (_S.DISPOSED, _A.RECEIVE): _DISPOSED,
    (_S.DISPOSED, _A.INSPECT): _DISPOSED,
    (_S.DISPOSED, _A.DISPOSE): _DISPOSED,
})


def transition(state: State, action: ReturnAction) -> ReturnState:
    """The state after ``action``; TransitionError saying why when the table refuses it."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise TransitionError(REFUSALS[(state, action)], state, action) from None


def allowed_actions(state: State) -> list[ReturnAction]:
    """The actions that may come next, in table order (none for a final state)."""
    return [action for (from_state, action) in TRANSITIONS if from_state == state]


def is_final(state: State) -> bool:
    """True when nothing more can happen to a return in ``state``."""
    return not allowed_actions(state)


def lifecycle_rank(state: ReturnState) -> int:
    """Position in ``expected < received < inspected < disposed`` (what a replay may not undo)."""
    return list(ReturnState).index(state)
