"""The one list of return reasons and sub-reasons, and the fixed tables that map Amazon's return
reason codes and the counter's suggested reasons onto it.

Rules:
- ``TAXONOMY`` is the only list: every classified return line carries one of its (reason,
  sub-reason) pairs; ``unknown/unmapped`` is what a line gets when nothing maps its text or code
  (those lines are listed for review, never guessed);
- Amazon codes are compared after ``amazon_key``: upper case, ``-`` and spaces as ``_``, a
  leading ``CR_`` (the FBA report's prefix) dropped, so ``CR-DEFECTIVE`` and ``DEFECTIVE`` are one
  code; the table holds the codes the returns reports carry (``spapi_sim.catalog`` generates the
  same ones) and Amazon's other common ones;
- the counter's reasons are the suggestions its page offers (``edge_agent.web.options.REASONS``),
  compared trimmed and case-blind; anything else a person typed goes through the text rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

TAXONOMY: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "defective": ("stopped_working", "missing_parts", "quality"),
    "not_as_described": ("description", "wrong_item_sent", "size_fit", "incompatible"),
    "damaged": ("in_transit", "on_arrival"),
    "customer_choice": ("changed_mind", "ordered_wrong", "better_price", "late_delivery"),
    "suspected_abuse": ("item_swapped",),
    "unknown": ("unmapped",),
})
UNMAPPED: Final = ("unknown", "unmapped")
# the reasons the "stands out" test looks at: a product or listing problem, not a buyer's choice
PRODUCT_PROBLEMS: Final = frozenset({"defective", "not_as_described"})

AMAZON_CODES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType({
    "DEFECTIVE": ("defective", "stopped_working"),
    "MISSING_PARTS": ("defective", "missing_parts"),
    "QUALITY_UNACCEPTABLE": ("defective", "quality"),
    "NOT_AS_DESCRIBED": ("not_as_described", "description"),
    "AMZ_PG_BAD_DESC": ("not_as_described", "description"),
    "NOT_COMPATIBLE": ("not_as_described", "incompatible"),
    "APPAREL_TOO_SMALL": ("not_as_described", "size_fit"),
    "APPAREL_TOO_LARGE": ("not_as_described", "size_fit"),
    "AMZ_PG_APP_TOO_SMALL": ("not_as_described", "size_fit"),
    "AMZ_PG_APP_TOO_LARGE": ("not_as_described", "size_fit"),
    "EXTRA_ITEM": ("not_as_described", "wrong_item_sent"),
    "DAMAGED_BY_CARRIER": ("damaged", "in_transit"),
    "DAMAGED_BY_FC": ("damaged", "on_arrival"),
    "UNWANTED_ITEM": ("customer_choice", "changed_mind"),
    "NO_REASON_GIVEN": ("customer_choice", "changed_mind"),
    "ORDERED_WRONG_ITEM": ("customer_choice", "ordered_wrong"),
    "BETTER_PRICE_AVAILABLE": ("customer_choice", "better_price"),
    "FOUND_BETTER_PRICE": ("customer_choice", "better_price"),
    "MISSED_ESTIMATED_DELIVERY": ("customer_choice", "late_delivery"),
    "SWITCHEROO": ("suspected_abuse", "item_swapped"),
})

COUNTER_REASONS: Final[Mapping[str, tuple[str, str]]] = MappingProxyType({
    "changed mind": ("customer_choice", "changed_mind"),
    "defective": ("defective", "stopped_working"),
    "wrong item": ("not_as_described", "wrong_item_sent"),
    "damaged in transit": ("damaged", "in_transit"),
    "not as described": ("not_as_described", "description"),
})


def is_known(reason: str, sub_reason: str) -> bool:
    """True when (reason, sub_reason) is a pair of the taxonomy."""
    return sub_reason in TAXONOMY.get(reason, ())


def amazon_key(code: str) -> str:
    """An Amazon reason code in the one spelling the table uses."""
    key = code.strip().upper().replace("-", "_").replace(" ", "_")
    return key.removeprefix("CR_")


def counter_key(text: str) -> str:
    """A counter reason in the one spelling the table uses."""
    return " ".join(text.split()).lower()
