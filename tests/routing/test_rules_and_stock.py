"""The routing rules document (validated like the allocation rules), the safety floor read as
the allocation engine reads it, and the postal-code helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hub.inventory.allocation import Stock, StockLine, allocate, compile_text
from hub.inventory.routing import (
    RoutingRulesError,
    default_routing_text,
    load_routing_yaml,
    routing_stock,
)
from hub.inventory.routing.geo import candidates, haversine_km, parse_geonames_line, shipped_table
from hub.strict_yaml import DocumentError

HEAD = "schema_version: 1\nversion: 2\nname: t\n"


def test_the_default_rules_load() -> None:
    rules = load_routing_yaml(default_routing_text())
    assert rules.version == 1 and rules.max_packages == 2 and rules.cutoff.default == "14:00"


@pytest.mark.parametrize(("text", "path", "words"), [
    (HEAD + "max_packges: 2\n", "max_packges", "unknown field"),
    (HEAD + "max_packages: 0\n", "max_packages", "greater than or equal to 1"),
    (HEAD + "max_packages: 2.5\n", "max_packages", "whole number"),
    (HEAD + "cutoff: {default: '2pm'}\n", "cutoff.default", "HH:MM"),
    (HEAD + "cutoff: {stores: {S1: '25:00'}}\n", "cutoff.stores.S1", "not a time of day"),
    (HEAD + "capacity: {stores: {S1: -1}}\n", "capacity.stores.S1", "greater than or equal"),
    (HEAD + "countries: {X: [de]}\n", "countries.X[0]", "pattern"),
    (HEAD + "priority_groups: [[S1], [S2, S1]]\n", "priority_groups[1][1]", "more than one"),
    (HEAD + "max_packages: 1\nmax_packages: 2\n", "", "given twice"),
    ("schema_version: 1\nname: t\n", "version", "required field is missing"),
    ("- a list\n", "", "YAML mapping"),
    (HEAD + "horizon_days: [\n", "", "not valid YAML"),
])
def test_bad_documents_name_the_field(text: str, path: str, words: str) -> None:
    with pytest.raises(RoutingRulesError) as caught:
        load_routing_yaml(text)
    assert isinstance(caught.value, DocumentError)  # the shared base of document errors
    assert caught.value.path == path
    assert words in str(caught.value)


FLOORS = """
schema_version: 1
version: 3
name: floors
safety_stock:
  default: 1
  stores: {S2: 4}
  categories: {electronics: 2}
  skus:
    - {sku: TV, store: S3, floor: 5}
    - {sku: RADIO, floor: 0}
marketplaces:
  M: {share_percent: 100, multi_location: true}
"""


def test_the_floor_is_the_allocation_engines_floor() -> None:
    """Per SKU and store, routing's usable units equal what the allocation engine offers a
    marketplace that takes 100 % per store with no caps or reserves: one fact, two readers."""
    rules = compile_text(FLOORS)
    skus = ("TV", "RADIO", "BOOK", "LAMP")
    lines = [StockLine(sku, store, on_hand, reserved, holds)
             for sku in skus
             for store, (on_hand, reserved, holds) in {
                 "S1": (9, 1, 1), "S2": (6, 0, 0), "S3": (7, 0, 1), "S4": (2, 3, 0)}.items()]
    stock = Stock(lines, {"TV": "electronics", "LAMP": "electronics"})
    offered = allocate(stock, rules, now=datetime(2026, 12, 7, tzinfo=UTC))
    usable = routing_stock(stock, rules, skus)
    for sku in skus:
        per_store = dict(offered.offers[(sku, "M")].stores)
        for store in ("S1", "S2", "S3", "S4"):
            assert usable.units(sku, store) == per_store.get(store, 0), (sku, store)
    assert usable.usable[("TV", "S3")].floor_rule == "safety_stock.skus.TV@S3"
    assert usable.usable[("BOOK", "S2")].floor_rule == "safety_stock.stores.S2"
    assert usable.units("TV", "S3") == 1  # 7 on hand - 1 held - floor 5


def test_haversine_against_known_distances() -> None:
    # Berlin Brandenburg Gate to Paris Eiffel Tower: about 878 km.
    assert 870 < haversine_km(52.5163, 13.3777, 48.8584, 2.2945) < 885
    assert haversine_km(10, 20, 10, 20) == 0


def test_postal_code_keys() -> None:
    assert candidates("US", "62701-1234") == ("62701",)
    assert candidates("GB", "sw1a 1aa") == ("SW1A1AA", "SW1A")
    assert candidates("DE", " 50667 ") == ("50667",)


def test_the_shipped_table_holds_the_simulators_us_buyers() -> None:
    table = shipped_table()
    assert len(table) > 300
    lat, lon = table[("US", "62701")]
    assert abs(lat - 39.80) < 0.05 and abs(lon + 89.65) < 0.05  # Springfield, IL
    assert ("US", "97205") in table


def test_the_shipped_table_holds_the_simulators_german_and_british_buyers() -> None:
    table = shipped_table()
    lat, lon = table[("DE", "50667")]
    assert abs(lat - 50.94) < 0.05 and abs(lon - 6.95) < 0.05  # Köln, Altstadt-Nord
    assert ("DE", "80331") in table  # München
    (key,) = [k for k in candidates("GB", "SW1A 1AA") if ("GB", k) in table]
    lat, lon = table[("GB", key)]
    assert key == "SW1A" and abs(lat - 51.50) < 0.05 and abs(lon + 0.13) < 0.05  # Westminster
    assert sum(1 for country, _ in table if country == "DE") > 8_000


def test_geonames_lines() -> None:
    line = "DE\t50667\tKöln\tNordrhein-Westfalen\tNW\t\t053\tKöln\t05315\t50.9384\t6.9577\t4\n"
    centroid = parse_geonames_line(line)
    assert centroid is not None
    assert (centroid.country, centroid.postal_code, centroid.place) == ("DE", "50667", "Köln")
    assert centroid.latitude == Decimal("50.9384")
    assert parse_geonames_line("  \n") is None
    for bad, words in [("DE\t50667\tKöln", "fields"),
                       (line.replace("50.9384", "north"), "latitude"),
                       (line.replace("6.9577", "200"), "out of range"),
                       (line.replace("DE\t", "Deutschland\t"), "country code")]:
        with pytest.raises(ValueError, match=words):
            parse_geonames_line(bad)
