"""YAML read strictly, for the documents people write (the refund policy, the allocation rules).

Rules:
- numbers with a fraction are exact ``Decimal`` (``1.0850`` stays 1.0850, never a ``float``);
  ``.inf`` and ``.nan`` are refused;
- a key given twice in one mapping is an error (PyYAML would silently keep the last one);
- it is a ``SafeLoader``: no object tags;
- ``where`` turns a YAML error into "problem (line L, column C)" for a person.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import yaml  # type: ignore[import-untyped]


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
