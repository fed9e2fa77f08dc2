"""Each store's part of a rules version (what its store config carries), and the bound on it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.inventory.allocation import RulesError, compile_text, default_rules_text
from hub.inventory.allocation.store_part import check_parts_fit, store_part
from protocol import StoreAllocation
from protocol.limits import MAX_ALLOCATION_SKU_FLOORS

RULES = """
schema_version: 1
version: 7
name: Black Friday
safety_stock:
  default: 1
  stores: {s2: 3}
  categories: {electronics: 2}
  skus:
    - {sku: TV-55, floor: 5}
    - {sku: TV-55, store: s1, floor: 9}
    - {sku: RADIO, store: s2, floor: 0}
marketplaces:
  AMZ-US: {share_percent: 80, excluded_stores: [s2]}
  AMZ-DE: {share_percent: 50}
reserves:
  - {name: walk_in, for: in_store, quantity: 2}
  - {name: bf_online, for: AMZ-US, quantity: 1, stores: [s1], skus: [TV-55],
     starts: "2026-11-27T00:00:00Z", ends: "2026-11-28T00:00:00Z"}
"""


def test_each_store_gets_its_own_floors_reserves_and_exclusions() -> None:
    rules = compile_text(RULES)
    s1, s2 = store_part(rules, "s1"), store_part(rules, "s2")
    assert (s1["version"], s1["name"], s1["floor"], s2["floor"]) == (7, "Black Friday", 1, 3)
    assert s1["sku_floors"] == {"TV-55": 9}  # its own floor wins over the chain's
    assert s2["sku_floors"] == {"RADIO": 0, "TV-55": 5}
    assert s1["category_floors"] == s2["category_floors"] == {"electronics": 2}
    assert [r["name"] for r in s1["reserves"]] == ["walk_in", "bf_online"]
    assert [r["name"] for r in s2["reserves"]] == ["walk_in"]
    assert s1["reserves"][1] == {
        "name": "bf_online", "for": "AMZ-US", "quantity": 1, "skus": ["TV-55"],
        "categories": [], "starts": "2026-11-27T00:00:00.000000Z",
        "ends": "2026-11-28T00:00:00.000000Z"}
    assert (s1["excluded_from"], s2["excluded_from"]) == ([], ["AMZ-US"])
    # the part is what the protocol carries, and comes back the same
    carried = StoreAllocation.model_validate(s1)
    again = StoreAllocation.model_validate(carried.model_dump(mode="json", by_alias=True))
    assert again == carried and again.reserves[1].for_ == "AMZ-US"
    assert again.reserves[1].ends == datetime(2026, 11, 28, tzinfo=UTC)


def test_a_version_whose_part_would_not_fit_a_store_config_is_refused() -> None:
    check_parts_fit(compile_text(default_rules_text()))  # the default fits
    floors = "\n".join(f"    - {{sku: SKU-{i}, floor: 1}}"
                       for i in range(MAX_ALLOCATION_SKU_FLOORS + 1))
    text = RULES.replace("  skus:\n", f"  skus:\n{floors}\n", 1)
    with pytest.raises(RulesError) as refused:
        check_parts_fit(compile_text(text))
    assert refused.value.path == "safety_stock.skus"
    assert "use category floors" in str(refused.value)
