"""The error of the allocation rules: ``RulesError``, a rules document that cannot be used.

    HubError (hub.errors)
    └── InputError           a value that is wrong; ``field`` names it (API: 422)
        └── DocumentError (hub.strict_yaml)
            └── RulesError   an allocation rules document that cannot be used; ``path``
                             names the first bad field, ``problems`` lists every bad field

Paths are written the way a merchandiser reads the YAML:
``marketplaces.ATVPDKIKX0DER.share_percent``, ``reserves[0].ends``; an empty path means the
whole document.
"""

from __future__ import annotations

from hub.strict_yaml import DocumentError, Problem

__all__ = ["Problem", "RulesError"]


class RulesError(DocumentError):
    """An allocation rules document that cannot be used."""

    REFUSED = "allocation rules refused"

    @classmethod
    def at(cls, path: str, message: str) -> RulesError:
        """A RulesError with a single problem."""
        return cls([Problem(path, message)])
