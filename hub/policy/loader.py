"""YAML text in, ``PolicyDocument`` out; no file I/O (reading files is the caller's job).

Rules:
- YAML numbers with a fraction are read as exact ``Decimal`` (``1.0850`` stays 1.0850, never
  passes through ``float``); ``.inf`` and ``.nan`` are refused;
- a key given twice in one mapping is an error (PyYAML would silently keep the last one);
- every failure is a ``PolicyError`` whose ``path`` names the bad field (``tiers[1].below``), or
  the line and column for YAML syntax errors;
- the default policy ships as package data and is read with ``importlib.resources``.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml  # type: ignore[import-untyped]
from pydantic import ValidationError

from hub.policy.document import PolicyDocument
from hub.policy.errors import PolicyError, Problem
from hub.strict_yaml import StrictLoader, format_path, where

DEFAULT_POLICY_RESOURCE = "default_policy.yaml"


_PolicyLoader = StrictLoader  # exact decimals, no duplicate keys (hub.strict_yaml)


def load_policy_yaml(text: str) -> PolicyDocument:
    """Parse and validate a policy document; raise ``PolicyError`` naming the bad field."""
    return validate_policy_data(parse_policy_data(text))


def parse_policy_data(text: str) -> dict[str, Any]:
    """The YAML mapping of a policy document, not yet validated (``PolicyError`` if not YAML)."""
    try:
        data = yaml.load(text, Loader=_PolicyLoader)  # a SafeLoader subclass: no object tags
    except yaml.YAMLError as err:
        raise PolicyError.at("", f"not valid YAML: {where(err)}") from err
    if not isinstance(data, dict):
        raise PolicyError.at("", "a policy document is a YAML mapping of sections")
    return data


def validate_policy_data(data: dict[str, Any]) -> PolicyDocument:
    """A policy document's sections (from YAML or a form) validated; ``PolicyError`` lists every
    bad field by its path."""
    try:
        return PolicyDocument.model_validate(data)
    except ValidationError as err:
        raise PolicyError([_problem(error) for error in err.errors()]) from err


def default_policy_text() -> str:
    """The YAML text of the default policy shipped with ACORN."""
    return resources.files("hub.policy").joinpath(DEFAULT_POLICY_RESOURCE).read_text("utf-8")


def default_policy() -> PolicyDocument:
    """The default policy shipped with ACORN, parsed."""
    return load_policy_yaml(default_policy_text())


def _problem(error: Any) -> Problem:
    message = _MESSAGES.get(error["type"], str(error["msg"]).removeprefix("Value error, "))
    return Problem(format_path(tuple(error["loc"])), message)


_MESSAGES = {
    "extra_forbidden": "unknown field (check the spelling)",
    "missing": "required field is missing",
    "string_pattern_mismatch": "use lower-case letters, digits and '_' only (at most 40)",
}
