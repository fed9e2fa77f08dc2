"""Classification: one return line's raw reason onto one (reason, sub-reason), with what mapped it.

Rules (pure; no I/O):
- an Amazon line (``amazon_mfn``/``amazon_fba``) is mapped by its reason code
  (``taxonomy.AMAZON_CODES``); an unknown code is ``unknown/unmapped`` (listed for review);
- a store line (taken in at a counter, whatever the original channel) is mapped by the
  counter's reason table first, then by the text rules; text nothing maps is
  ``unknown/unmapped``;
- ``method`` says which: ``amazon_code``, ``counter``, ``rule`` (with the rule's number and the
  rules' version) or ``unmapped``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.finance.reasons.rules import ReasonRules
from hub.finance.reasons.taxonomy import (
    AMAZON_CODES,
    COUNTER_REASONS,
    UNMAPPED,
    amazon_key,
    counter_key,
)


class Source(StrEnum):
    """Where a return line lives at the hub."""

    STORE = "store"  # returns / return_items (the counter; POS, web or Amazon drop-off)
    AMAZON_MFN = "amazon_mfn"  # amazon_returns
    AMAZON_FBA = "amazon_fba"  # amazon_fba_returns


class Method(StrEnum):
    """What mapped a line."""

    AMAZON_CODE = "amazon_code"
    COUNTER = "counter"
    RULE = "rule"
    UNMAPPED = "unmapped"


@dataclass(frozen=True, slots=True)
class Classification:
    """A line's reason and sub-reason, and how they were found."""

    reason: str
    sub_reason: str
    method: Method
    rule: int | None = None  # the text rule's number (method ``rule``)
    rules_version: int | None = None  # the rules' version (methods ``rule`` and ``unmapped``)


def classify(source: Source, raw: str, rules: ReasonRules) -> Classification:
    """The reason and sub-reason of a line of ``source`` whose raw reason is ``raw``."""
    if source is not Source.STORE:
        found = AMAZON_CODES.get(amazon_key(raw))
        if found is None:
            return Classification(*UNMAPPED, Method.UNMAPPED)
        return Classification(*found, Method.AMAZON_CODE)
    counter = COUNTER_REASONS.get(counter_key(raw))
    if counter is not None:
        return Classification(*counter, Method.COUNTER)
    return by_text(raw, rules)


def by_text(text: str, rules: ReasonRules) -> Classification:
    """The first text rule whose pattern is found in ``text``; else unmapped."""
    for rule in rules.rules:
        if any(pattern.search(text) for pattern in rule.patterns):
            return Classification(rule.reason, rule.sub_reason, Method.RULE, rule.number,
                                  rules.version)
    return Classification(*UNMAPPED, Method.UNMAPPED, None, rules.version)
