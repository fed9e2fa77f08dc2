"""The text rules document: versioned YAML that maps free text onto the reason taxonomy.

Rules:
- read with ``hub.strict_yaml`` (no key given twice, no object tags); ``version`` (a positive
  integer), ``name`` and ``rules``: a list of ``{reason, sub_reason, patterns}``; every pair is
  in the taxonomy (``unknown/unmapped`` is not a rule's to give) and every pattern compiles;
- bounded: at most ``MAX_RULES`` rules, ``MAX_PATTERNS`` patterns of ``MAX_PATTERN`` characters
  each, a document of ``MAX_TEXT`` characters;
- patterns are regular expressions matched case-blind anywhere in the text (``re.search``); the
  first rule, in document order, with a matching pattern wins;
- a refused document is a ``ReasonRulesError`` naming each bad field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files

from pydantic import BaseModel, ConfigDict, Field

from hub.finance.reasons.taxonomy import UNMAPPED, is_known
from hub.strict_yaml import DocumentError, Problem, read_document

MAX_TEXT, MAX_RULES, MAX_PATTERNS, MAX_PATTERN = 200_000, 500, 50, 200


class ReasonRulesError(DocumentError):
    """A reason rules document that cannot be used."""

    REFUSED = "reason rules refused"

    @classmethod
    def at(cls, path: str, message: str) -> ReasonRulesError:
        """One problem at ``path``."""
        return cls([Problem(path, message)])


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    reason: str = Field(min_length=1, max_length=40)
    sub_reason: str = Field(min_length=1, max_length=40)
    patterns: list[str] = Field(min_length=1, max_length=MAX_PATTERNS)


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = Field(ge=1, le=1_000_000)
    name: str = Field(min_length=1, max_length=100)
    rules: list[_Rule] = Field(max_length=MAX_RULES)


@dataclass(frozen=True, slots=True)
class TextRule:
    """One rule: the pair it gives and its compiled patterns."""

    number: int  # 1-based position in the document
    reason: str
    sub_reason: str
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True, slots=True)
class ReasonRules:
    """A validated rules document."""

    version: int
    name: str
    rules: tuple[TextRule, ...]


def default_rules_text() -> str:
    """The rules shipped with ACORN (version 1)."""
    return (files("hub.finance.reasons") / "default_rules.yaml").read_text(encoding="utf-8")


def load_rules_yaml(text: str) -> ReasonRules:
    """Parse and validate a rules document; ``ReasonRulesError`` names each bad field."""
    document = read_document(text, _Document, ReasonRulesError, "a reason rules document",
                             MAX_TEXT)
    return ReasonRules(document.version, document.name,
                       tuple(_compiled(i, rule) for i, rule in enumerate(document.rules)))


def _compiled(index: int, rule: _Rule) -> TextRule:
    if not is_known(rule.reason, rule.sub_reason) or (rule.reason, rule.sub_reason) == UNMAPPED:
        raise ReasonRulesError.at(f"rules[{index}].sub_reason",
                                  f"{rule.reason}/{rule.sub_reason} is not in the reason taxonomy")
    patterns = []
    for p, text in enumerate(rule.patterns):
        path = f"rules[{index}].patterns[{p}]"
        if not text.strip() or len(text) > MAX_PATTERN:
            raise ReasonRulesError.at(path, f"a pattern has 1 to {MAX_PATTERN} characters")
        try:
            patterns.append(re.compile(text, re.IGNORECASE))
        except re.error as err:
            raise ReasonRulesError.at(path, f"not a regular expression: {err}") from err
    return TextRule(index + 1, rule.reason, rule.sub_reason, tuple(patterns))


