"""The transfer price of a received line, by tables: which rule wins (route, then regions, then
category, then the default), cost plus a markup or a fixed price, rounding, currencies converted
at the rate given (and kept), and lines that cannot be priced saying why. Also the rules
document: every bad field named, nothing guessed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

import pytest

from hub.inventory.transfers.pricing import LineFacts, Priced, price
from hub.inventory.transfers.rules import (
    TransferPriceRules,
    TransferPriceRulesError,
    load_price_rules_yaml,
)
from protocol import Money

RULES = load_price_rules_yaml("""
schema_version: 1
version: 3
name: test rules
currency: EUR
default:
  markup_percent: 2.5
rules:
  - name: kitchen
    category: small_kitchen
    markup_percent: 8
  - name: north-south
    regions: {from_region: north, to_region: south}
    markup_percent: 5
  - name: a-to-b
    route: {from_store: store-a, to_store: store-b}
    fixed: {amount: 12.50, currency: EUR}
  - name: a-to-c-dollars
    route: {from_store: store-a, to_store: store-c}
    fixed: {amount: 3.10, currency: USD}
  - name: yen
    route: {from_store: store-j, to_store: store-b}
    fixed: {amount: 1500, currency: JPY}
""")


@dataclass(frozen=True)
class FakeRate:
    """A rate as hub.finance hands it over."""

    rate: Decimal
    day: date
    source: str


RATES = {("USD", "EUR"): FakeRate(Decimal("0.9234"), date(2026, 11, 27), "ECB test"),
         ("JPY", "EUR"): FakeRate(Decimal("0.006123"), date(2026, 11, 27), "ECB test")}


def rate(currency: str, base: str) -> FakeRate | None:
    return RATES.get((currency, base))


BASE = LineFacts(sku="SKU-1", quantity=3, difference=0, from_store="store-x",
                 to_store="store-y", from_region="east", to_region="west",
                 category="garden", unit_cost=Money.of("10.00", "EUR"))

# (case, changes to BASE, rule, unit price in EUR, amount in EUR)
TABLE = [
    ("nothing matches: the default markup", {}, "default", "10.25", "30.75"),
    ("category", {"category": "small_kitchen"}, "kitchen", "10.80", "32.40"),
    ("regions beat the category", {"category": "small_kitchen", "from_region": "north",
                                   "to_region": "south"}, "north-south", "10.50", "31.50"),
    ("the other way round is not the pair", {"from_region": "south", "to_region": "north"},
     "default", "10.25", "30.75"),
    ("a store without a region matches no pair", {"from_region": None, "to_region": "south"},
     "default", "10.25", "30.75"),
    ("the route beats regions and category", {"from_store": "store-a", "to_store": "store-b",
                                               "from_region": "north", "to_region": "south",
                                               "category": "small_kitchen"},
     "a-to-b", "12.50", "37.50"),
    ("a fixed price needs no unit cost", {"from_store": "store-a", "to_store": "store-b",
                                          "unit_cost": None}, "a-to-b", "12.50", "37.50"),
    ("cost rounded half up", {"unit_cost": Money.of("0.99", "EUR"), "quantity": 7},
     "default", "1.01", "7.07"),
    ("a fixed price in dollars converted", {"from_store": "store-a", "to_store": "store-c"},
     "a-to-c-dollars", "2.86", "8.58"),
    ("a cost in dollars converted", {"unit_cost": Money.of("20.00", "USD"),
                                     "category": "small_kitchen"}, "kitchen", "19.95", "59.85"),
    ("a cost in yen (no minor units)", {"from_store": "store-j", "to_store": "store-b"},
     "yen", "9.18", "27.54"),
]


@pytest.mark.parametrize(("case", "changes", "rule", "unit", "amount"), TABLE,
                         ids=[row[0] for row in TABLE])
def test_the_rule_and_the_price(case: str, changes: dict[str, object], rule: str, unit: str,
                                amount: str) -> None:
    priced = price(replace(BASE, **changes), RULES, rate)  # type: ignore[arg-type]
    assert (priced.rule, priced.unit_price, priced.amount, priced.currency) == (
        rule, Decimal(unit), Decimal(amount), "EUR"), priced.why
    assert priced.unit_price is not None
    assert priced.amount == priced.unit_price * priced.quantity  # lines add up exactly
    assert rule in priced.why


def test_a_conversion_keeps_its_rate_day_and_source() -> None:
    priced = price(replace(BASE, from_store="store-a", to_store="store-c"), RULES, rate)
    assert priced.fx == {"from": "USD", "to": "EUR", "rate": "0.9234", "day": "2026-11-27",
                         "source": "ECB test"}
    assert "3.10 USD" in priced.why and "0.9234" in priced.why
    assert price(BASE, RULES, rate).fx is None  # same currency: no conversion, no rate


def test_the_shortfall_is_valued_at_the_unit_price() -> None:
    priced = price(replace(BASE, quantity=3, difference=-2), RULES, rate)
    assert (priced.amount, priced.difference_amount) == (Decimal("30.75"), Decimal("20.50"))
    surplus = price(replace(BASE, quantity=5, difference=2), RULES, rate)
    assert (surplus.amount, surplus.difference_amount) == (Decimal("51.25"), Decimal("0.00"))


@pytest.mark.parametrize(("changes", "says"), [
    ({"unit_cost": None}, "SKU-1 has no unit cost in the catalogue"),
    ({"unit_cost": Money.of("5.00", "GBP")}, "no exchange rate GBP -> EUR"),
])
def test_a_line_that_cannot_be_priced_says_why(changes: dict[str, object], says: str) -> None:
    priced: Priced = price(replace(BASE, **changes), RULES, rate)  # type: ignore[arg-type]
    assert not priced.priced and priced.amount is None and priced.unit_price is None
    assert priced.why.startswith("unpriced: ") and says in priced.why


def test_the_first_rule_of_a_kind_wins() -> None:
    rules = load_price_rules_yaml("""
schema_version: 1
version: 1
name: two routes
currency: EUR
rules:
  - {name: first, route: {from_store: s1, to_store: s2}, markup_percent: 1}
  - {name: second, route: {from_store: s1, to_store: s2}, markup_percent: 50}
""")
    facts = replace(BASE, from_store="s1", to_store="s2")
    assert price(facts, rules, rate).rule == "first"


def test_the_shipped_default_prices_at_cost() -> None:
    from hub.inventory.transfers.rules_store import default_text

    rules = load_price_rules_yaml(default_text())
    assert isinstance(rules, TransferPriceRules) and rules.currency == "EUR"
    priced = price(BASE, rules, rate)
    assert (priced.rule, priced.unit_price) == ("default", Decimal("10.00"))


HEAD = "schema_version: 1\nversion: 1\nname: n\ncurrency: EUR\n"


@pytest.mark.parametrize(("text", "path", "says"), [
    (HEAD + "rules:\n  - {name: r, markup_percent: 5}\n", "rules[0]",
     "match exactly one of route, regions or category"),
    (HEAD + "rules:\n  - {name: r, category: x, route: {from_store: a, to_store: b}, "
            "markup_percent: 5}\n", "rules[0]", "match exactly one"),
    (HEAD + "rules:\n  - {name: r, category: x}\n", "rules[0]", "either markup_percent"),
    (HEAD + "rules:\n  - {name: r, category: x, markup_percent: 5, fixed: {amount: 1, "
            "currency: EUR}}\n", "rules[0]", "either markup_percent"),
    (HEAD + "rules:\n  - {name: r, category: x, fixed: {amount: 1.005, currency: EUR}}\n",
     "rules[0].fixed", "EUR has 2 decimal places"),
    (HEAD + "rules:\n  - {name: r, category: x, fixed: {amount: 1, currency: XYZ}}\n",
     "rules[0].fixed", "not an ISO 4217"),
    (HEAD + "rules:\n  - {name: r, category: x, markup_pct: 5}\n", "rules[0].markup_pct",
     "unknown field"),
    (HEAD + "rules:\n  - {name: r, category: Kitchen Stuff, markup_percent: 5}\n",
     "rules[0].category", "pattern"),
    (HEAD + "default: {markup_percent: 5}\ndefault: {markup_percent: 6}\n", "",
     "given twice"),
    (HEAD + "rules:\n  - {name: r, category: x, markup_percent: 5}\n"
            "  - {name: r, category: y, markup_percent: 5}\n", "", "each rule name at most once"),
    ("schema_version: 1\nversion: 1\nname: n\ncurrency: EURO\n", "currency", "pattern"),
    ("- just a list\n", "", "a YAML mapping"),
    ("version: [\n", "", "not valid YAML"),
])
def test_a_bad_document_names_the_field(text: str, path: str, says: str) -> None:
    with pytest.raises(TransferPriceRulesError) as caught:
        load_price_rules_yaml(text)
    assert caught.value.path == path, caught.value.message
    assert says in caught.value.message
