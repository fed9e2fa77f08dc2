"""The error of the policy package: ``PolicyError``, a document or value the policy refuses.

    HubError (hub.errors)
    └── InputError           a value that is wrong; ``field`` names it (API: 422)
        └── PolicyError      a policy document that cannot be used; ``path`` names the bad field,
                             ``problems`` lists every bad field found, first one first

Paths are written the way an admin reads the YAML: ``tiers[1].below``,
``marketplaces.A1PA6795UKMFR9.return_window_days``; an empty path means the whole document.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.errors import InputError


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad field: where it is and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"


class PolicyError(InputError):
    """A policy document (or policy value) that cannot be used."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        if not problems:
            raise ValueError("a PolicyError needs at least one problem")
        self.problems = tuple(problems)
        self.path = self.problems[0].path
        lines = "; ".join(str(problem) for problem in self.problems)
        super().__init__(f"policy document refused: {lines}", field=self.path or None)

    @classmethod
    def at(cls, path: str, message: str) -> PolicyError:
        """A PolicyError with a single problem."""
        return cls([Problem(path, message)])
