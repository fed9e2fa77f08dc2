"""The allocation engine by tables: each rule alone, combinations, rounding, zero and negative
stock, an excluded store, a timed reserve starting and ending, priority draws."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hub.inventory.allocation import NO_SALES, Sales, allocate
from tests.inventory.alloc_helpers import DE, NOW, US, explained, rules, stock

CASES: list[tuple[str, dict[str, Any], list[tuple[Any, ...]], int, dict[str, int]]] = [
    # (case, rule sections, stock lines of SKU "A", US quantity, steps)
    ("no rules: all on hand", {}, [("A", "s1", 7)], 7, {}),
    ("reserved and holds", {}, [("A", "s1", 10, 3, 2)], 5, {"available": 5}),
    ("zero stock", {}, [("A", "s1", 0)], 0, {}),
    ("negative stock takes nothing from other stores", {},
     [("A", "s1", -4), ("A", "s2", 3)], 3, {}),
    ("holds above on hand count as zero", {}, [("A", "s1", 2, 5)], 0, {"available": 2}),
    ("default floor", {"safety_stock": {"default": 2}}, [("A", "s1", 5), ("A", "s2", 1)], 3,
     {"safety_stock.default": 3}),
    ("store floor beats default", {"safety_stock": {"default": 1, "stores": {"s1": 4}}},
     [("A", "s1", 5), ("A", "s2", 5)], 5,
     {"safety_stock.stores.s1": 4, "safety_stock.default": 1}),
    ("category floor beats store floor",
     {"safety_stock": {"stores": {"s1": 4}, "categories": {"toys": 1}}},
     [("A", "s1", 5)], 4, {"safety_stock.categories.toys": 1}),
    ("sku floor beats category", {"safety_stock": {"categories": {"toys": 1},
                                                   "skus": [{"sku": "A", "floor": 3}]}},
     [("A", "s1", 5)], 2, {"safety_stock.skus.A": 3}),
    ("sku x store floor beats all",
     {"safety_stock": {"default": 1, "skus": [{"sku": "A", "floor": 3},
                                              {"sku": "A", "store": "s2", "floor": 0}]}},
     [("A", "s1", 5), ("A", "s2", 5)], 7, {"safety_stock.skus.A": 3}),
    ("floor after reserved", {"safety_stock": {"default": 2}}, [("A", "s1", 5, 2)], 1,
     {"available": 2, "safety_stock.default": 2}),
    ("share rounds down once over the sum", {"marketplaces": {US: {"share_percent": 50}}},
     [("A", "s1", 3), ("A", "s2", 3)], 3, {f"marketplaces.{US}.share_percent": 3}),
    ("share rounds down per store when multi-location",
     {"marketplaces": {US: {"share_percent": 50, "multi_location": True}}},
     [("A", "s1", 3), ("A", "s2", 3)], 2, {f"marketplaces.{US}.share_percent": 4}),
    ("share with decimals", {"marketplaces": {US: {"share_percent": "33.33"}}},
     [("A", "s1", 100)], 33, {f"marketplaces.{US}.share_percent": 67}),
    ("share of zero offers nothing", {"marketplaces": {US: {"share_percent": 0}}},
     [("A", "s1", 9)], 0, {f"marketplaces.{US}.share_percent": 9}),
    ("excluded store drops out", {"marketplaces": {US: {"excluded_stores": ["s2"]}}},
     [("A", "s1", 4), ("A", "s2", 6)], 4, {f"marketplaces.{US}.excluded_stores": 6}),
    ("sku cap", {"marketplaces": {US: {"sku_caps": {"A": 5}}}}, [("A", "s1", 9)], 5,
     {f"marketplaces.{US}.sku_caps.A": 4}),
    ("marketplace cap", {"marketplaces": {US: {"cap": 6}}}, [("A", "s1", 9)], 6,
     {f"marketplaces.{US}.cap": 3}),
    ("sku cap first, then the marketplace cap", {"marketplaces": {US: {"cap": 3,
                                                                       "sku_caps": {"A": 5}}}},
     [("A", "s1", 9)], 3, {f"marketplaces.{US}.sku_caps.A": 4, f"marketplaces.{US}.cap": 2}),
    ("cap above the offer does nothing", {"marketplaces": {US: {"cap": 60}}}, [("A", "s1", 9)],
     9, {}),
    ("in-store reserve", {"reserves": [{"name": "walk_in", "for": "in_store", "quantity": 2}]},
     [("A", "s1", 5), ("A", "s2", 1)], 3, {"reserves.walk_in": 3}),
    ("reserve for one store only",
     {"reserves": [{"name": "walk_in", "for": "in_store", "quantity": 2, "stores": ["s2"]}]},
     [("A", "s1", 5), ("A", "s2", 5)], 8, {"reserves.walk_in": 2}),
    ("reserve for other skus does nothing",
     {"reserves": [{"name": "walk_in", "for": "in_store", "quantity": 2, "skus": ["B"]}]},
     [("A", "s1", 5)], 5, {}),
    ("everything together",
     {"safety_stock": {"default": 1},
      "marketplaces": {US: {"share_percent": 50, "cap": 2, "excluded_stores": ["s3"]}},
      "reserves": [{"name": "walk_in", "for": "in_store", "quantity": 1}]},
     # s1: 10 - 1 reserved - 1 floor - 1 reserve = 7; s2: 3 - 1 hold - 1 - 1 = 0; s3: excluded
     # 50 % of 7 rounds down to 3; the cap takes it to 2
     [("A", "s1", 10, 1), ("A", "s2", 3, 0, 1), ("A", "s3", 20)], 2,
     {"available": 2, "safety_stock.default": 3, "reserves.walk_in": 3,
      f"marketplaces.{US}.excluded_stores": 18, f"marketplaces.{US}.share_percent": 4,
      f"marketplaces.{US}.cap": 1}),
]


@pytest.mark.parametrize(("sections", "lines", "quantity", "steps"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_rules_by_table(sections: dict[str, Any], lines: list[tuple[Any, ...]], quantity: int,
                        steps: dict[str, int]) -> None:
    offer = allocate(stock(*lines, categories={"A": "toys"}), rules(**sections), NO_SALES,
                     NOW).offers[("A", US)]
    assert offer.quantity == quantity
    assert explained(offer) == steps


def test_a_channel_reserve_is_kept_for_its_marketplace_only() -> None:
    sections: dict[str, Any] = {"marketplaces": {US: {}, DE: {}},
                                "reserves": [{"name": "prime_day", "for": US, "quantity": 3}]}
    allocation = allocate(stock(("A", "s1", 5)), rules(**sections), NO_SALES, NOW)
    assert allocation.quantity("A", US) == 5
    assert allocation.quantity("A", DE) == 2
    assert explained(allocation.offers[("A", DE)]) == {"reserves.prime_day": 3}


def test_a_timed_reserve_holds_from_its_start_until_its_end() -> None:
    start, end = NOW, NOW + timedelta(days=2)
    compiled = rules(reserves=[{"name": "black_friday", "for": "in_store", "quantity": 4,
                                "starts": start.isoformat(), "ends": end.isoformat()}])
    held = stock(("A", "s1", 10))
    at = {
        "a second before": start - timedelta(seconds=1),
        "at the start": start,
        "a second before the end": end - timedelta(seconds=1),
        "at the end": end,
    }
    quantities = {name: allocate(held, compiled, NO_SALES, when).quantity("A", US)
                  for name, when in at.items()}
    assert quantities == {"a second before": 10, "at the start": 6,
                          "a second before the end": 6, "at the end": 10}


def test_a_capped_multi_location_offer_draws_priority_groups_then_slow_movers() -> None:
    compiled = rules(
        marketplaces={US: {"multi_location": True, "cap": 7}},
        location_priority={"groups": [["s3"], ["s1", "s2"]], "consume_slow_movers_first": True},
    )
    sales = Sales({("A", "s1"): 30, ("A", "s2"): 2, ("A", "s4"): 0})
    held = stock(("A", "s1", 4), ("A", "s2", 4), ("A", "s3", 2), ("A", "s4", 9))
    offer = allocate(held, compiled, sales, NOW).offers[("A", US)]
    # s3 (first group), then s2 (sells slower than s1), then s1; s4 (no group) gets nothing
    assert offer.stores == (("s3", 2), ("s2", 4), ("s1", 1))
    assert offer.quantity == 7 == sum(q for _, q in offer.stores)
    assert explained(offer) == {f"marketplaces.{US}.cap": 12}


def test_without_slow_movers_first_the_group_is_drawn_by_store_id() -> None:
    compiled = rules(marketplaces={US: {"multi_location": True, "cap": 5}},
                     location_priority={"groups": [["s2", "s1"]]})
    sales = Sales({("A", "s1"): 30, ("A", "s2"): 2})
    offer = allocate(stock(("A", "s1", 4), ("A", "s2", 4)), compiled, sales, NOW).offers[("A", US)]
    assert offer.stores == (("s1", 4), ("s2", 1))


def test_every_sku_gets_an_offer_on_every_marketplace_even_zero() -> None:
    compiled = rules(marketplaces={US: {}, DE: {"excluded_stores": ["s1"]}})
    allocation = allocate(stock(("A", "s1", 5), ("B", "s1", -2)), compiled, NO_SALES, NOW)
    assert {key: offer.quantity for key, offer in allocation.offers.items()} == {
        ("A", US): 5, ("A", DE): 0, ("B", US): 0, ("B", DE): 0,
    }
    assert allocation.quantity("unknown", US) == 0


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware UTC"):
        allocate(stock(("A", "s1", 1)), rules(), NO_SALES, NOW.replace(tzinfo=None))
