"""The routing engine by tables: each rule alone, combinations, the tie-break, nothing can fill it,
the split limit, cut-off and opening hours in the store's zone, capacity used up."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub.inventory.routing import Decision, Destination, Line, Status, route
from tests.routing.engine_support import KOELN_50667, order, rules, site, stock

MONDAY = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)  # 10:30 in Berlin (CET), before the cut-off
MON, TUE, WED = date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9)


def route_(order, sites, *rest):  # type: ignore[no-untyped-def]
    return route(order, {s.store_id: s for s in sites}, *rest)


def verdict(decision, store):  # type: ignore[no-untyped-def]
    return next(v for v in decision.verdicts if v.store_id == store)


# --- each rule alone -----------------------------------------------------------------------

def test_distance_the_nearest_store_that_fills_it_ships_it() -> None:
    sites = [site("MUC", "muenchen"), site("DUS", "duesseldorf"), site("CGN", "koeln")]
    held = stock(("A", "MUC", 5), ("A", "DUS", 5), ("A", "CGN", 5))
    decision = route_(order(("A", 2)), sites, held, rules(), MONDAY)
    assert decision.status is Status.ROUTED
    assert decision.stores == ("CGN",)
    assert [verdict(decision, s).rank for s in ("CGN", "DUS", "MUC")] == [1, 2, 3]
    assert verdict(decision, "CGN").distance_km < 1 < 30 < verdict(decision, "DUS").distance_km
    assert 450 < verdict(decision, "MUC").distance_km < 470  # Köln–München, as the crow flies
    assert "CGN fills the whole order and ranks first of 3" in decision.reasons[0]


def test_stock_above_the_floor_is_what_counts() -> None:
    sites = [site("CGN", "koeln"), site("DUS", "duesseldorf")]
    # CGN has 3 sellable but a floor of 2: only one unit may go; DUS has 4 with the same floor.
    held = stock(("A", "CGN", 3), ("A", "DUS", 4), floor=2)
    decision = route_(order(("A", 2)), sites, held, rules(), MONDAY)
    assert decision.stores == ("DUS",)
    assert verdict(decision, "CGN").fills == 1


def test_a_store_holding_nothing_usable_is_dropped() -> None:
    held = stock(("A", "CGN", 2), ("A", "DUS", 3), floor=2)
    decision = route_(order(("A", 1)), [site("CGN", "koeln"), site("DUS", "duesseldorf")], held,
                     rules(), MONDAY)
    assert decision.stores == ("DUS",)
    # the floor leaves CGN nothing: it is counted, not considered
    assert [v.store_id for v in decision.verdicts] == ["DUS"] and decision.idle == 1


def test_one_store_for_the_whole_order_before_a_nearer_split() -> None:
    sites = [site("CGN", "koeln"), site("BON", "bonn"), site("MUC", "muenchen")]
    held = stock(("A", "CGN", 1), ("B", "BON", 1), ("A", "MUC", 1), ("B", "MUC", 1))
    decision = route_(order(("A", 1), ("B", 1)), sites, held, rules(max_packages=2), MONDAY)
    assert decision.status is Status.ROUTED
    assert decision.stores == ("MUC",)


def test_split_when_no_store_can_fill_it_within_the_package_limit() -> None:
    sites = [site("CGN", "koeln"), site("BON", "bonn"), site("DUS", "duesseldorf")]
    held = stock(("A", "CGN", 2), ("B", "BON", 1), ("A", "DUS", 1), ("B", "DUS", 1))
    wanted = order(("A", 2), ("B", 1))
    decision = route_(wanted, sites, held, rules(max_packages=2), MONDAY)
    assert decision.status is Status.SPLIT
    # CGN fills 2 of 3 (the most), then BON and DUS fill the last unit equally: BON ranks higher.
    assert [(p.store_id, p.lines) for p in decision.packages] == [
        ("CGN", (Line("A", 2),)), ("BON", (Line("B", 1),))]
    no_split = route_(wanted, sites, held, rules(max_packages=1), MONDAY)
    assert no_split.status is Status.UNROUTABLE and no_split.packages == ()
    assert "max_packages: 1" in no_split.reasons[0]


def test_the_split_limit_is_never_passed() -> None:
    sites = [site("CGN", "koeln"), site("BON", "bonn"), site("DUS", "duesseldorf")]
    held = stock(("A", "CGN", 1), ("B", "BON", 1), ("C", "DUS", 1))
    wanted = order(("A", 1), ("B", 1), ("C", 1))
    two = route_(wanted, sites, held, rules(max_packages=2), MONDAY)
    assert two.status is Status.UNROUTABLE
    assert "at most 2 packages still leaves 1 unit(s) unfilled" in two.reasons[0]
    three = route_(wanted, sites, held, rules(max_packages=3), MONDAY)
    assert three.status is Status.SPLIT and sorted(three.stores) == ["BON", "CGN", "DUS"]


def test_nothing_can_fill_it() -> None:
    sites = [site("CGN", "koeln"), site("DUS", "duesseldorf")]
    decision = route_(order(("A", 1)), sites, stock(), rules(max_packages=3), MONDAY)
    assert decision.status is Status.UNROUTABLE
    assert decision.reasons == ("no store can ship any of it",)
    assert decision.verdicts == () and decision.idle == 2
    assert decision.as_json()["stores_without_stock"] == 2


def test_stores_that_hold_some_but_cannot_ship_are_all_dropped_with_why() -> None:
    sites = [site("CGN", "koeln", ship=False), site("MUC", "muenchen")]
    held = stock(("A", "CGN", 1), ("A", "MUC", 1))
    decision: Decision = route_(order(("A", 1)), sites, held, rules(max_distance_km=100), MONDAY)
    assert decision.status is Status.UNROUTABLE
    assert [(v.store_id, v.dropped) for v in decision.verdicts] == [
        ("CGN", "does not ship from store"),
        ("MUC", "456.0 km away, over max_distance_km 100")]


def test_stores_together_too_few() -> None:
    held = stock(("A", "CGN", 1), ("A", "DUS", 1))
    decision = route_(order(("A", 3)), [site("CGN", "koeln"), site("DUS", "duesseldorf")], held,
                     rules(max_packages=5), MONDAY)
    assert decision.status is Status.UNROUTABLE
    assert "1 unit(s) too few" in decision.reasons[0]


def test_same_country_unless_the_rules_let_another_ship_for_the_marketplace() -> None:
    dest = Destination("AT", "1010", 48.2092, 16.3728)  # Wien, Innere Stadt
    sites = [site("VIE", "wien"), site("MUC", "muenchen")]
    held = stock(("A", "MUC", 5))
    decision = route_(order(("A", 1), dest=dest), sites, held, rules(), MONDAY)
    assert decision.status is Status.UNROUTABLE
    assert verdict(decision, "MUC").dropped == "in DE; the order goes to AT"
    allowed = rules(countries={"A1PA6795UKMFR9": ["DE"]})
    assert route_(order(("A", 1), dest=dest), sites, held, allowed, MONDAY).stores == ("MUC",)
    other_market = order(("A", 1), dest=dest, marketplace="ATVPDKIKX0DER")
    assert route_(other_market, sites, held, allowed, MONDAY).status is Status.UNROUTABLE


def test_priority_group_wins_over_distance() -> None:
    sites = [site("CGN", "koeln"), site("MUC", "muenchen")]
    held = stock(("A", "CGN", 5), ("A", "MUC", 5))
    decision = route_(order(("A", 1)), sites, held, rules(priority_groups=[["MUC"]]), MONDAY)
    assert decision.stores == ("MUC",)
    assert verdict(decision, "MUC").group == 0 and verdict(decision, "CGN").group is None
    both = rules(priority_groups=[["MUC", "CGN"]])
    assert route_(order(("A", 1)), sites, held, both, MONDAY).stores == ("CGN",)


def test_max_distance() -> None:
    sites = [site("MUC", "muenchen")]
    decision = route_(order(("A", 1)), sites, stock(("A", "MUC", 1)),
                     rules(max_distance_km=300), MONDAY)
    assert decision.status is Status.UNROUTABLE
    assert "over max_distance_km 300" in (verdict(decision, "MUC").dropped or "")


def test_tie_break_is_the_store_id_whatever_the_input_order() -> None:
    held = stock(("A", "S2", 1), ("A", "S1", 1), ("A", "S3", 1))
    sites = [site("S2", "koeln"), site("S3", "koeln"), site("S1", "koeln")]
    for ordering in (sites, sites[::-1], sites[1:] + sites[:1]):
        decision = route_(order(("A", 1)), ordering, held, rules(), MONDAY)
        assert decision.stores == ("S1",)
        assert [v.store_id for v in decision.verdicts] == ["S1", "S2", "S3"]


def test_unknown_postcode_ranks_without_distance_and_says_so() -> None:
    dest = Destination("DE", "99999")
    sites = [site("MUC", "muenchen"), site("CGN", "koeln")]
    held = stock(("A", "MUC", 1), ("A", "CGN", 1))
    decision = route_(order(("A", 1), dest=dest), sites, held, rules(max_distance_km=10), MONDAY)
    assert decision.stores == ("CGN",)  # tie-break only
    assert decision.reasons[0].startswith("no centroid for postal code 99999 (DE)")


@pytest.mark.parametrize(("kwargs", "why"), [
    ({"ship": False}, "does not ship from store"),
    ({"coordinates": None}, "its record lacks an address, coordinates or time zone"),
    ({"time_zone": None}, "its record lacks an address, coordinates or time zone"),
])
def test_records_that_cannot_ship(kwargs: dict[str, object], why: str) -> None:
    decision = route_(order(("A", 1)), [site("CGN", "koeln", **kwargs)], stock(("A", "CGN", 1)),
                     rules(), MONDAY)
    assert decision.status is Status.UNROUTABLE and verdict(decision, "CGN").dropped == why


def test_a_store_that_gave_it_back_is_left_out() -> None:
    sites = [site("CGN", "koeln"), site("DUS", "duesseldorf")]
    held = stock(("A", "CGN", 1), ("A", "DUS", 1))
    decision = route_(order(("A", 1), excluded=frozenset({"CGN"})), sites, held, rules(), MONDAY)
    assert decision.stores == ("DUS",)
    assert verdict(decision, "CGN").dropped == "gave this order back"


# --- cut-off, opening hours, capacity, in the store's zone ---------------------------------

@pytest.mark.parametrize(("now", "ships"), [
    (datetime(2026, 12, 7, 12, 59, tzinfo=UTC), MON),  # 13:59 CET: before the 14:00 cut-off
    (datetime(2026, 12, 7, 13, 0, tzinfo=UTC), TUE),   # 14:00 CET: the cut-off has passed
    (datetime(2026, 7, 6, 11, 59, tzinfo=UTC), date(2026, 7, 6)),  # 13:59 CEST
    (datetime(2026, 7, 6, 12, 0, tzinfo=UTC), date(2026, 7, 7)),   # 14:00 CEST, 12:00 UTC
    (datetime(2026, 12, 6, 23, 30, tzinfo=UTC), MON),  # Sunday in UTC, already Monday 00:30 CET
])
def test_cutoff_in_the_stores_zone(now: datetime, ships: date) -> None:
    decision = route_(order(("A", 1)), [site("CGN", "koeln")], stock(("A", "CGN", 1)), rules(), now)
    assert decision.packages[0].ship_date == ships


def test_a_store_cutoff_overrides_the_default() -> None:
    late = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)  # 14:30 CET
    sites = [site("CGN", "koeln"), site("MUC", "muenchen")]
    held = stock(("A", "CGN", 1), ("A", "MUC", 1))
    decision = route_(order(("A", 1)), sites, held, rules(cutoff={"stores": {"MUC": "16:00"}}),
                     late)
    # CGN is nearer but ships tomorrow; MUC still ships today: ship date ranks before distance.
    assert decision.stores == ("MUC",) and decision.packages[0].ship_date == MON
    assert verdict(decision, "CGN").ship_date == TUE
    assert "after the cut-off" in verdict(decision, "CGN").note


def test_the_same_instant_is_before_the_cutoff_in_london_and_after_it_in_berlin() -> None:
    dest = Destination("GB", "WC2N 5DU", 51.5081, -0.1248)
    now = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)  # 13:30 in London, 14:30 in Berlin
    held = stock(("A", "LON", 1), ("A", "CGN", 1))
    allowed = rules(countries={"A1F83G8C2ARO7P": ["DE"]})
    sites = [site("LON", "london"), site("CGN", "koeln")]
    decision = route_(order(("A", 1), dest=dest, marketplace="A1F83G8C2ARO7P"), sites, held,
                     allowed, now)
    assert verdict(decision, "LON").ship_date == MON
    assert verdict(decision, "CGN").ship_date == TUE


def test_opening_hours_closed_days_and_exceptions() -> None:
    saturday_late = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)  # Sat 16:00 CET, after the cut-off
    weekdays = ("mon", "tue", "wed", "thu", "fri", "sat")
    shop = site("CGN", "koeln", days=weekdays)
    decision = route_(order(("A", 1)), [shop], stock(("A", "CGN", 1)), rules(), saturday_late)
    assert decision.packages[0].ship_date == MON  # closed on Sunday
    holiday = site("CGN", "koeln", days=weekdays,
                   exceptions=({"date": "2026-12-07", "closed": True},))
    decision = route_(order(("A", 1)), [holiday], stock(("A", "CGN", 1)), rules(), saturday_late)
    assert decision.packages[0].ship_date == TUE
    short = site("CGN", "koeln", days=weekdays, exceptions=(
        {"date": "2026-12-07", "hours": [{"opens": "15:00", "closes": "18:00"}]},))
    decision = route_(order(("A", 1)), [short], stock(("A", "CGN", 1)), rules(), saturday_late)
    assert decision.packages[0].ship_date == TUE  # opens after the 14:00 cut-off on Monday


def test_closed_before_the_cutoff_today() -> None:
    morning_only = {"mon": [{"opens": "08:00", "closes": "10:00"}],
                    "tue": [{"opens": "08:00", "closes": "10:00"}]}
    shop = site("CGN", "koeln", hours=morning_only)
    decision = route_(order(("A", 1)), [shop], stock(("A", "CGN", 1)), rules(), MONDAY)
    assert decision.packages[0].ship_date == TUE  # 10:30 CET: it closed at 10:00


def test_capacity_used_up_moves_the_store_to_its_next_day_then_out() -> None:
    sites = [site("CGN", "koeln", load={MON: 2}), site("DUS", "duesseldorf")]
    held = stock(("A", "CGN", 1), ("A", "DUS", 1))
    decision = route_(order(("A", 1)), sites, held, rules(capacity={"stores": {"CGN": 2}}), MONDAY)
    assert decision.stores == ("DUS",)
    assert verdict(decision, "CGN").ship_date == TUE
    assert "capacity used up (2 of 2)" in verdict(decision, "CGN").note
    full = [site("CGN", "koeln", load={MON: 2, TUE: 2, WED: 2})]
    decision = route_(order(("A", 1)), full, held, rules(capacity={"default": 2}, horizon_days=2),
                     MONDAY)
    assert decision.status is Status.UNROUTABLE
    assert "cannot ship within 2 days" in (verdict(decision, "CGN").dropped or "")


# --- combinations ---------------------------------------------------------------------------

def test_combined_group_then_ship_date_then_distance() -> None:
    late = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)  # 14:30 CET
    sites = [site("CGN", "koeln"), site("BON", "bonn"), site("MUC", "muenchen"),
             site("DUS", "duesseldorf")]
    held = stock(("A", "CGN", 1), ("A", "BON", 1), ("A", "MUC", 1), ("A", "DUS", 1))
    the_rules = rules(priority_groups=[["MUC", "BON", "DUS"]],
                      cutoff={"stores": {"MUC": "16:00", "DUS": "16:00"}})
    decision = route_(order(("A", 1)), sites, held, the_rules, late)
    ranks = {v.store_id: v.rank for v in decision.verdicts}
    # group first (CGN last), then today before tomorrow (DUS, MUC before BON), then distance.
    assert ranks == {"DUS": 1, "MUC": 2, "BON": 3, "CGN": 4}
    assert decision.stores == ("DUS",)


def test_split_packages_each_carry_their_stores_ship_date() -> None:
    sites = [site("CGN", "koeln", load={MON: 1}), site("DUS", "duesseldorf")]
    held = stock(("A", "CGN", 1), ("B", "DUS", 1))
    decision = route_(order(("A", 1), ("B", 1)), sites, held,
                     rules(max_packages=2, capacity={"default": 1}), MONDAY)
    assert [(p.store_id, p.ship_date) for p in decision.packages] == [
        ("DUS", MON), ("CGN", TUE)]


def test_distances_are_real() -> None:
    # Köln to Düsseldorf is about 34 km as the crow flies.
    decision = route_(order(("A", 1)), [site("DUS", "duesseldorf")], stock(("A", "DUS", 1)),
                     rules(), MONDAY)
    assert 32 < (verdict(decision, "DUS").distance_km or 0) < 36
    assert KOELN_50667.located


def test_an_aware_time_is_required() -> None:
    with pytest.raises(ValueError, match="aware"):
        route_(order(("A", 1)), [], stock(), rules(), datetime(2026, 12, 7, 9, 30))


def test_each_store_ships_today_by_its_own_clock_across_time_zones() -> None:
    # 23:30 UTC on Monday: 00:30 on Tuesday in Köln, still 23:30 on Monday in London. Both are
    # open around the clock with a midnight cut-off, so each ships "today" by its own clock:
    # the nearer one (Köln) wins, not the one whose calendar date is earlier.
    always = {day: [{"opens": "00:00", "closes": "24:00"}] for day in
              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    sites = [site("LON", "london", hours=always), site("CGN", "koeln", hours=always)]
    held = stock(("A", "LON", 1), ("A", "CGN", 1))
    night = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    decision = route_(order(("A", 1)), sites, held,
                      rules(cutoff={"default": "24:00"}, countries={"A1PA6795UKMFR9": ["GB"]}),
                      night)
    assert decision.stores == ("CGN",)
    assert (verdict(decision, "CGN").ship_date, verdict(decision, "LON").ship_date) == (TUE, MON)
