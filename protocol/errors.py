"""The one exception tree of ``protocol``.

    ProtocolError            anything this package refuses
    ├── DecodeError          bytes that are not a valid ACORN message (bad JSON/field/kind)
    ├── TopicError           a topic string that is not one of ours, or ids that cannot form one
    ├── TransitionError      the return state table has no such move (``protocol.return_states``)
    └── InvalidValue         values that break a rule of the protocol beyond one field's schema
                             (e.g. a return's lines in two currencies); ``field`` names the place

Every error carries a human sentence; ``DecodeError.field`` names the field at fault when there is
one, so a dead-letter record or an API answer can say exactly what was wrong; a
``TransitionError`` names the state and action refused, and each side translates it into its own
tree (the edge's ``TransitionRefused``, the hub's ``InvalidTransition``).
"""

from __future__ import annotations


class ProtocolError(ValueError):
    """Base of everything the protocol package refuses."""


class DecodeError(ProtocolError):
    """Bytes that do not decode to a valid message."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TopicError(ProtocolError):
    """A topic that is not an ACORN topic, or ids that cannot make one."""


class TransitionError(ProtocolError):
    """The return state table has no move for (state, action); the message says why."""

    def __init__(self, message: str, state: str | None, action: str) -> None:
        super().__init__(message)
        self.state = state
        self.action = action


class InvalidValue(ProtocolError):
    """Values that break a protocol rule (``field`` names where, when one place is at fault)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
