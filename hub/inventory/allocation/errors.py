"""The error of the allocation rules: ``RulesError``, a rules document that cannot be used.

    HubError (hub.errors)
    └── InputError           a value that is wrong; ``field`` names it (API: 422)
        └── RulesError       an allocation rules document that cannot be used; ``path`` names the
                             first bad field, ``problems`` lists every bad field found

Paths are written the way a merchandiser reads the YAML:
``marketplaces.ATVPDKIKX0DER.share_percent``, ``reserves[0].ends``; an empty path means the
whole document.
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


class RulesError(InputError):
    """An allocation rules document that cannot be used."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        if not problems:
            raise ValueError("a RulesError needs at least one problem")
        self.problems = tuple(problems)
        self.path = self.problems[0].path
        lines = "; ".join(str(problem) for problem in self.problems)
        super().__init__(f"allocation rules refused: {lines}", field=self.path or None)

    @classmethod
    def at(cls, path: str, message: str) -> RulesError:
        """A RulesError with a single problem."""
        return cls([Problem(path, message)])
