"""YAML read strictly, for the documents people write (the refund policy, the allocation rules).

Rules:
- numbers with a fraction are exact ``Decimal`` (``1.0850`` stays 1.0850, never a ``float``);
  ``.inf`` and ``.nan`` are refused;
- a key given twice in one mapping is an error (PyYAML would silently keep the last one);
- it is a ``SafeLoader``: no object tags;
- ``where`` turns a YAML error into "problem (line L, column C)" for a person;
- a refused document is a ``DocumentError`` listing each ``Problem`` at its field path
  (``format_path``: ``tiers[1].below``);
- ``read_document`` is the one way a versioned YAML document is read: size, YAML, a mapping, then
  its pydantic model, each refusal a ``Problem`` in plain words (``field_problem``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import yaml  # type: ignore[import-untyped]
from pydantic import BaseModel, ValidationError

from hub.errors import InputError


class StrictLoader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader with exact decimals and no duplicate keys."""

    def construct_yaml_float(self, node: Any) -> Decimal:
        text = str(self.construct_scalar(node)).replace("_", "")
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            raise yaml.constructor.ConstructorError(
                None, None, f"{text!r} is not a finite decimal", node.start_mark
            )
        return value

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        result: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return result


StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_yaml_float)


def where(err: yaml.YAMLError) -> str:
    """A YAML error as a person reads it: the problem and its line and column."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    if mark is None:
        return str(problem)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"


def format_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a person reads it: ``tiers[1].below``, ``reserves[0].ends``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad field: where it is and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"


class DocumentError(InputError):
    """A document that cannot be used: every problem, the first one's path as the field."""

    REFUSED = "document refused"

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        if not problems:
            raise ValueError(f"a {type(self).__name__} needs at least one problem")
        self.problems = tuple(problems)
        self.path = self.problems[0].path
        lines = "; ".join(str(problem) for problem in self.problems)
        super().__init__(f"{self.REFUSED}: {lines}", field=self.path or None)


PLAIN: dict[str, str] = {
    "extra_forbidden": "unknown field (check the spelling)",
    "missing": "required field is missing",
    "int_type": "write a whole number",
}
Model = TypeVar("Model", bound=BaseModel)


def field_problem(error: Any) -> Problem:
    """One pydantic error as a ``Problem`` in plain words."""
    message = PLAIN.get(error["type"], str(error["msg"]).removeprefix("Value error, "))
    return Problem(format_path(tuple(error["loc"])), message)


def read_document(text: str, model: type[Model], error: type[DocumentError], what: str,
                  max_text: int) -> Model:
    """``text`` read strictly as ``what`` (e.g. "a routing rules document") into ``model``;
    ``error`` names each problem."""
    if len(text) > max_text:
        raise error([Problem("", f"{what} is at most {max_text} characters")])
    try:
        data = yaml.load(text, Loader=StrictLoader)  # a SafeLoader subclass: no object tags
    except yaml.YAMLError as err:
        raise error([Problem("", f"not valid YAML: {where(err)}")]) from err
    if not isinstance(data, dict):
        raise error([Problem("", f"{what} is a YAML mapping")])
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise error([field_problem(e) for e in err.errors()]) from err
