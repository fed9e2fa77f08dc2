"""The error of the policy package: ``PolicyError``, a document or value the policy refuses.

    HubError (hub.errors)
    └── InputError           a value that is wrong; ``field`` names it (API: 422)
        └── DocumentError (hub.strict_yaml)
            └── PolicyError  a policy document that cannot be used; ``path`` names the bad
                             field, ``problems`` lists every bad field found, first one first

Paths are written the way an admin reads the YAML: ``tiers[1].below``,
``marketplaces.A1PA6795UKMFR9.return_window_days``; an empty path means the whole document.
"""

from __future__ import annotations

from hub.strict_yaml import DocumentError, Problem

__all__ = ["PolicyError", "Problem"]


class PolicyError(DocumentError):
    """A policy document (or policy value) that cannot be used."""

    REFUSED = "policy document refused"

    @classmethod
    def at(cls, path: str, message: str) -> PolicyError:
        """A PolicyError with a single problem."""
        return cls([Problem(path, message)])
