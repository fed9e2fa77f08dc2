"""YAML text in, ``RulesDocument`` out; no file I/O (reading files is the caller's job).

Rules:
- YAML numbers with a fraction are read as exact ``Decimal`` (``12.50`` stays 12.50, never passes
  through ``float``); ``.inf`` and ``.nan`` are refused;
- a key given twice in one mapping is an error (PyYAML would silently keep the last one);
- every failure is a ``RulesError`` whose ``path`` names the bad field
  (``marketplaces.ATVPDKIKX0DER.cap``), or the line and column for YAML syntax errors;
- the default rules ship as package data and are read with ``importlib.resources``.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml  # type: ignore[import-untyped]
from pydantic import ValidationError

from hub.inventory.allocation.document import RulesDocument
from hub.inventory.allocation.errors import Problem, RulesError
from hub.strict_yaml import StrictLoader, format_path, where

DEFAULT_RULES_RESOURCE = "default_rules.yaml"
MAX_TEXT = 2_000_000  # characters: a document with 100,000 SKU floors still fits


_RulesLoader = StrictLoader  # exact decimals, no duplicate keys (hub.strict_yaml)


def load_rules_yaml(text: str) -> RulesDocument:
    """Parse and validate a rules document; raise ``RulesError`` naming the bad field."""
    return validate_rules_data(parse_rules_data(text))


def parse_rules_data(text: str) -> dict[str, Any]:
    """The YAML mapping of a rules document, not yet validated (``RulesError`` if not YAML)."""
    if len(text) > MAX_TEXT:
        raise RulesError.at("", f"a rules document is at most {MAX_TEXT} characters")
    try:
        data = yaml.load(text, Loader=_RulesLoader)  # a SafeLoader subclass: no object tags
    except yaml.YAMLError as err:
        raise RulesError.at("", f"not valid YAML: {where(err)}") from err
    if not isinstance(data, dict):
        raise RulesError.at("", "an allocation rules document is a YAML mapping of sections")
    return data


def validate_rules_data(data: dict[str, Any]) -> RulesDocument:
    """A rules document's sections validated; ``RulesError`` lists every bad field."""
    try:
        return RulesDocument.model_validate(data)
    except ValidationError as err:
        raise RulesError([_problem(error) for error in err.errors()]) from err


def default_rules_text() -> str:
    """The YAML text of the default allocation rules shipped with ACORN."""
    package = "hub.inventory.allocation"
    return resources.files(package).joinpath(DEFAULT_RULES_RESOURCE).read_text("utf-8")


def _problem(error: Any) -> Problem:
    message = _MESSAGES.get(error["type"], str(error["msg"]).removeprefix("Value error, "))
    return Problem(format_path(tuple(error["loc"])), message)


_MESSAGES = {
    "extra_forbidden": "unknown field (check the spelling)",
    "missing": "required field is missing",
    "int_type": "write a whole number of units",
}
