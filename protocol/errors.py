"""The one exception tree of ``protocol``.

    ProtocolError            anything this package refuses
    ├── DecodeError          bytes that are not a valid ACORN message (bad JSON/field/kind)
    └── TopicError           a topic string that is not one of ours, or ids that cannot form one

Every error carries a human sentence; ``DecodeError.field`` names the field at fault when there is
one, so a dead-letter record or an API answer can say exactly what was wrong.
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
