"""Properties of the allocation engine over random stock and rules (hypothesis): never more than
available, monotonic in stock, explanations that add up."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.inventory.allocation import NO_SALES, CompiledRules, StockLine, allocate
from hub.inventory.allocation.values import Stock
from tests.inventory.alloc_helpers import DE, NOW, US, explained, rules

STORES = ["s1", "s2", "s3"]
SKUS = ["A", "B"]

lines = st.lists(
    st.builds(StockLine, st.sampled_from(SKUS), st.sampled_from(STORES),
              st.integers(-5, 40), st.integers(0, 6), st.integers(0, 6)),
    max_size=8,
    unique_by=lambda line: (line.sku, line.store),
)
markets = st.fixed_dictionaries({}, optional={
    "share_percent": st.integers(0, 100),
    "cap": st.integers(0, 30),
    "sku_caps": st.dictionaries(st.sampled_from(SKUS), st.integers(0, 30), max_size=2),
    "excluded_stores": st.lists(st.sampled_from(STORES), max_size=2, unique=True),
    "multi_location": st.booleans(),
})
sections = st.fixed_dictionaries({
    "marketplaces": st.fixed_dictionaries({US: markets, DE: markets}),
    "safety_stock": st.fixed_dictionaries({}, optional={
        "default": st.integers(0, 5),
        "stores": st.dictionaries(st.sampled_from(STORES), st.integers(0, 5), max_size=3),
    }),
    "reserves": st.lists(st.fixed_dictionaries({
        "name": st.sampled_from(["r1", "r2", "r3"]),
        "for": st.sampled_from(["in_store", US, DE]),
        "quantity": st.integers(0, 5),
    }), max_size=3, unique_by=lambda r: r["name"]),
})


def _available(held: list[StockLine], sku: str) -> int:
    return sum(max(0, line.on_hand - line.reserved - line.holds)
               for line in held if line.sku == sku)


@settings(max_examples=300, deadline=None)
@given(lines, sections)
def test_never_more_than_available_and_explained(held: list[StockLine],
                                                 chosen: dict[str, Any]) -> None:
    compiled: CompiledRules = rules(**chosen)
    allocation = allocate(Stock(held), compiled, NO_SALES, NOW)
    for (sku, _market), offer in allocation.offers.items():
        explained(offer)
        assert 0 <= offer.quantity <= _available(held, sku)
        if offer.stores:
            assert sum(q for _, q in offer.stores) == offer.quantity
            for store, quantity in offer.stores:
                line = next(x for x in held if (x.sku, x.store) == (sku, store))
                assert quantity <= line.on_hand - line.reserved - line.holds


@settings(max_examples=300, deadline=None)
@given(lines, sections, st.integers(0, len(STORES) * len(SKUS) - 1), st.integers(1, 20))
def test_more_stock_never_lowers_an_offer(held: list[StockLine], chosen: dict[str, Any],
                                          which: int, more: int) -> None:
    compiled = rules(**chosen)
    sku, store = SKUS[which % len(SKUS)], STORES[which // len(SKUS)]
    grown = [StockLine(x.sku, x.store, x.on_hand + more, x.reserved, x.holds)
             if (x.sku, x.store) == (sku, store) else x for x in held]
    if not any((x.sku, x.store) == (sku, store) for x in held):
        grown.append(StockLine(sku, store, more))
    before = allocate(Stock(held), compiled, NO_SALES, NOW)
    after = allocate(Stock(grown), compiled, NO_SALES, NOW)
    for key, offer in after.offers.items():
        assert offer.quantity >= before.quantity(*key)
