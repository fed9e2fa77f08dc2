"""The allocation rules document: the default validates, bad documents are refused with the path
of each bad field, nothing is read through float."""

from __future__ import annotations

import pytest

from hub.inventory.allocation import RulesError, compile_text, default_rules_text, load_rules_yaml

GOOD = """
schema_version: 1
version: 3
name: Holiday
marketplaces:
  ATVPDKIKX0DER: {share_percent: 80.5, multi_location: true}
"""


def test_the_default_rules_validate_and_compile() -> None:
    compiled = compile_text(default_rules_text())
    assert compiled.version == 1 and compiled.marketplaces


def test_a_decimal_share_is_exact() -> None:
    assert compile_text(GOOD).marketplaces[0].basis_points == 8050


@pytest.mark.parametrize(("text", "path", "message"), [
    ("- a list", "", "YAML mapping"),
    ("version: [", "", "not valid YAML"),
    (GOOD + "version: 4\n", "", "given twice"),
    (GOOD.replace("80.5", "80.555"), "marketplaces.ATVPDKIKX0DER.share_percent",
     "two decimal places"),
    (GOOD.replace("80.5", "101"), "marketplaces.ATVPDKIKX0DER.share_percent", "less than"),
    (GOOD.replace("multi_location", "multi_locaton"),
     "marketplaces.ATVPDKIKX0DER.multi_locaton", "unknown field"),
    (GOOD + "safety_stock: {default: -1}\n", "safety_stock.default", "greater than"),
    (GOOD + "safety_stock: {default: 1.5}\n", "safety_stock.default", "whole number"),
    (GOOD + "reserves: [{name: x, for: A1PA6795UKMFR9, quantity: 1}]\n", "reserves[0].for",
     "neither in_store nor a marketplace"),
    (GOOD + "reserves: [{name: x, for: in_store, quantity: 1},"
            " {name: x, for: in_store, quantity: 2}]\n", "reserves[1].name", "used twice"),
    (GOOD + "reserves: [{name: x, for: in_store, quantity: 1, starts: 2026-11-27T00:00:00}]\n",
     "reserves[0].starts", "UTC"),
    (GOOD + "reserves: [{name: x, for: in_store, quantity: 1, starts: 2026-11-27T00:00:00Z,"
            " ends: 2026-11-26T00:00:00Z}]\n", "reserves[0]", "ends must be after starts"),
    (GOOD + "location_priority: {groups: [[s1, s2], [s2]]}\n",
     "location_priority.groups[1][0]", "more than one group"),
    (GOOD + "safety_stock: {skus: [{sku: A, floor: 1}, {sku: A, floor: 2}]}\n",
     "safety_stock.skus[1]", "given twice"),
    (GOOD.replace("marketplaces:\n  ATVPDKIKX0DER: {share_percent: 80.5, multi_location: true}",
                  "marketplaces: {}"), "marketplaces", "at least 1"),
])
def test_bad_documents_name_the_field(text: str, path: str, message: str) -> None:
    with pytest.raises(RulesError) as caught:
        load_rules_yaml(text)
    assert caught.value.path == path
    assert message in str(caught.value)
