"""Simulating a draft against the current rules over one stock snapshot."""

from __future__ import annotations

from hub.inventory.allocation import NO_SALES, allocate, simulate
from tests.inventory.alloc_helpers import DE, NOW, US, rules, stock

HELD = stock(("A", "s1", 10), ("B", "s1", 4), ("C", "s2", 1), ("D", "s2", 6))


def test_a_draft_shows_per_marketplace_what_changes_with_examples() -> None:
    current = rules(1, marketplaces={US: {}})
    draft = rules(2, marketplaces={US: {"cap": 5}, DE: {"share_percent": 50}})
    report = simulate(draft, current, HELD, NO_SALES, NOW, examples=1)
    assert (report.current_version, report.draft_version, report.skus) == (1, 2, 4)
    by_market = {m.marketplace: m for m in report.marketplaces}
    us, de = by_market[US], by_market[DE]
    assert (us.units_before, us.units_after, us.raised, us.lowered) == (21, 15, 0, 2)
    assert [(c.sku, c.before, c.after) for c in us.examples] == [("A", 10, 5)]  # biggest first
    assert us.examples[0].after_offer is not None
    assert [s.rule for s in us.examples[0].after_offer.steps] == [f"marketplaces.{US}.cap"]
    assert (de.skus_before, de.skus_after, de.units_after, de.raised) == (0, 3, 10, 3)
    assert report.changed == 5


def test_the_same_rules_change_nothing_and_agree_with_allocate() -> None:
    current = rules(1, safety_stock={"default": 1})
    report = simulate(rules(2, safety_stock={"default": 1}), current, HELD, NO_SALES, NOW)
    assert report.changed == 0
    (us,) = report.marketplaces
    live = allocate(HELD, current, NO_SALES, NOW)
    assert us.units_after == sum(offer.quantity for offer in live.offers.values())
