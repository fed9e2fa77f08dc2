"""The routing engine: ``route(order, sites, stock, rules, now) -> Decision``, pure.

Only the stores holding a usable unit of the order (sellable above the safety floor) are
considered, so the cost follows the stores that hold the SKUs, not the size of the chain; the
others are counted (``Decision.idle``). Order of the steps, per store considered (in store id
order), the first that fails drops the store:
1. it gave this order back;
2. its record has an address, coordinates and a time zone, and it ships from store;
3. it is in the destination's country, or in a country the rules let ship for the marketplace;
4. within ``max_distance_km`` of the destination's postal-code centroid (when that is known);
5. it can ship within ``horizon_days`` (cut-off, opening hours and daily capacity, in its zone);
6. it holds usable stock of the order (checked first, see above; its fill is counted here).

Then: the stores that can fill the whole order are ranked and the first ships it all. Only when
none can, and ``max_packages`` > 1, the order is split greedily: the store that fills the most
of what is left (ties: by rank) takes what it can, until the order is filled or the package
limit is reached; a split that cannot fill the order within the limit is unroutable. Greedy is
not an exhaustive search: with three or more SKUs spread unevenly it can miss a split within
the limit that another choice of stores would find (the order is then unroutable and a manager
routes it by hand).

Rank (the deterministic tie-break is the last key): priority group (stores in none last), ship
date, distance (unknown last), store id. Every store gets a ``Verdict``; the decision's
``reasons`` say in words what was chosen and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from hub.inventory.routing.document import RoutingRules
from hub.inventory.routing.geo import haversine_km
from hub.inventory.routing.shipday import first_day, open_days
from hub.inventory.routing.values import (
    Decision,
    Line,
    Order,
    Package,
    RoutingStock,
    Site,
    Status,
    Verdict,
)

NO_GROUP = 1 << 20
FAR = float("inf")


def route(order: Order, sites: Mapping[str, Site], stock: RoutingStock, rules: RoutingRules,
          now: datetime) -> Decision:
    """Where ``order`` ships from under ``rules`` at ``now`` (``sites`` by store id), with
    every reason."""
    if now.tzinfo is None:
        raise ValueError("route needs an aware UTC time")
    if not order.lines:
        return _unroutable(order, rules, (), "the order has no lines with a SKU")
    holders = sorted(s for s in stock.holders(li.sku for li in order.lines) if s in sites)
    idle = len(sites) - len(holders)
    verdicts: dict[str, Verdict] = {}
    for store in holders:
        verdicts[store] = _judge(order, sites[store], stock, rules, now)
    decision = _choose(order, verdicts, stock, rules)
    return replace(decision, idle=idle)


def _choose(order: Order, verdicts: dict[str, Verdict], stock: RoutingStock,
            rules: RoutingRules) -> Decision:
    ranked = sorted((v for v in verdicts.values() if v.dropped is None), key=_rank_key)
    verdicts.update({v.store_id: _with_rank(v, i + 1) for i, v in enumerate(ranked)})
    ranked = [verdicts[v.store_id] for v in ranked]
    located = "" if order.destination.located else (
        f"no centroid for postal code {order.destination.postal_code} "
        f"({order.destination.country}): distance not used; ")
    total = sum(line.quantity for line in order.lines)
    whole = [v for v in ranked if v.fills == total]
    if whole:
        best = whole[0]
        package = Package(best.store_id, _date(best), order.lines)
        reason = (f"{located}{best.store_id} fills the whole order and ranks first of "
                  f"{len(whole)} that can ({_why(best)})")
        return _decided(order, rules, Status.ROUTED, (package,), (reason,), verdicts)
    if not ranked:
        return _unroutable(order, rules, tuple(verdicts.values()),
                           f"{located}no store can ship any of it")
    if rules.max_packages == 1:
        return _unroutable(order, rules, tuple(verdicts.values()),
                           f"{located}no single store can fill the whole order and the rules "
                           "do not split (max_packages: 1)")
    return _split(order, ranked, stock, rules, verdicts, located)


@dataclass(frozen=True, slots=True)
class _Facts:
    """What one store's record and the rules say about it, whatever the order."""

    dropped: str | None
    country: str
    spot: tuple[float, float]
    cutoff: str
    capacity: int
    group: int | None


def _facts(site: Site, rules: RoutingRules) -> _Facts:
    # Derived once per store and rules object (held by identity, so a new rules object is
    # never answered from an old one).
    held = site.memo.get("facts")
    if held is not None and held[0] is rules:
        facts: _Facts = held[1]
        return facts
    record, store = site.record, site.store_id
    dropped, country, spot = None, "", (0.0, 0.0)
    if record.address is None or record.coordinates is None or record.time_zone is None:
        dropped = "its record lacks an address, coordinates or time zone"
    elif not record.capabilities.ship_from_store:
        dropped = "does not ship from store"
    else:
        country = record.address.country
        spot = (float(record.coordinates.latitude), float(record.coordinates.longitude))
    facts = _Facts(dropped, country, spot, rules.cutoff.stores.get(store, rules.cutoff.default),
                   rules.capacity.stores.get(store, rules.capacity.default),
                   rules.group_of(store))
    site.memo["facts"] = (rules, facts)
    return facts


def _judge(order: Order, site: Site, stock: RoutingStock, rules: RoutingRules,
           now: datetime) -> Verdict:
    store, dest = site.store_id, order.destination
    if store in order.excluded:
        return Verdict(store, dropped="gave this order back")
    facts = _facts(site, rules)
    if facts.dropped is not None:
        return Verdict(store, dropped=facts.dropped)
    if facts.country != dest.country and facts.country not in rules.countries.get(
            order.marketplace_id, ()):
        return Verdict(store, dropped=f"in {facts.country}; the order goes to {dest.country}")
    distance = None
    if dest.latitude is not None and dest.longitude is not None:
        distance = haversine_km(facts.spot[0], facts.spot[1], dest.latitude, dest.longitude)
        if rules.max_distance_km is not None and distance > rules.max_distance_km:
            return Verdict(store, dropped=f"{distance:.1f} km away, over "
                           f"max_distance_km {rules.max_distance_km}", distance_km=distance)
    key = ("days", now, facts.cutoff, rules.horizon_days)
    days = site.memo.get(key)
    if days is None:  # the record and the time fix them: derived once per store and instant
        days = site.memo[key] = open_days(site.record, now, facts.cutoff, rules.horizon_days)
    day, notes = first_day(days, facts.capacity, site.load)
    if day is None:
        return Verdict(store, dropped=f"cannot ship within {rules.horizon_days} days: "
                       + "; ".join(notes), distance_km=distance)
    fills = sum(min(stock.units(li.sku, store), li.quantity) for li in order.lines)
    return Verdict(store, fills=fills, ship_date=day, distance_km=distance, group=facts.group,
                   note="; ".join(notes), days_out=(day - days[0][0]).days)


def _rank_key(v: Verdict) -> tuple[int, int, float, str]:
    # days from each store's own today, not calendar dates: at 00:15 in Chicago it is still
    # 22:15 the day before in Portland, and both ship "today"
    if v.days_out is None:  # a ranked verdict always has one
        raise ValueError(f"{v.store_id} has no ship date")
    return (NO_GROUP if v.group is None else v.group, v.days_out,
            FAR if v.distance_km is None else round(v.distance_km, 3), v.store_id)


def _date(v: Verdict) -> date:
    if v.ship_date is None:  # a ranked verdict always has one
        raise ValueError(f"{v.store_id} has no ship date")
    return v.ship_date


def _with_rank(v: Verdict, rank: int) -> Verdict:
    return Verdict(v.store_id, None, rank, v.fills, v.ship_date, v.distance_km, v.group, v.note,
                   v.days_out)


def _why(v: Verdict) -> str:
    group = "no priority group" if v.group is None else f"priority group {v.group + 1}"
    where = "distance unknown" if v.distance_km is None else f"{v.distance_km:.1f} km"
    later = f"; {v.note}" if v.note else ""
    return f"{group}, ships {_date(v).isoformat()}, {where}{later}"


def _split(order: Order, ranked: list[Verdict], stock: RoutingStock, rules: RoutingRules,
           verdicts: dict[str, Verdict], located: str) -> Decision:
    left = {li.sku: li.quantity for li in order.lines}
    packages: list[Package] = []
    reasons = [f"{located}no single store can fill the whole order; splitting into at most "
               f"{rules.max_packages} packages"]
    used: set[str] = set()
    while any(left.values()) and len(packages) < rules.max_packages:
        best, best_fill = None, 0
        for v in ranked:  # in rank order, so the first of equal fills wins
            if v.store_id in used:
                continue
            fill = sum(min(stock.units(sku, v.store_id), q) for sku, q in left.items())
            if fill > best_fill:
                best, best_fill = v, fill
        if best is None:
            break
        used.add(best.store_id)
        lines = []
        for sku, wanted in sorted(left.items()):
            take = min(stock.units(sku, best.store_id), wanted)
            if take:
                lines.append(Line(sku, take))
                left[sku] = wanted - take
        packages.append(Package(best.store_id, _date(best), tuple(lines)))
        reasons.append(f"package {len(packages)}: {best.store_id} takes {best_fill} unit(s), "
                       f"the most of what was left ({_why(best)})")
    missing = sum(left.values())
    if missing:
        why = (f"{located}a split into at most {rules.max_packages} packages still leaves "
               f"{missing} unit(s) unfilled" if len(packages) == rules.max_packages else
               f"{located}the stores together hold {missing} unit(s) too few")
        return _unroutable(order, rules, tuple(verdicts.values()), why)
    return _decided(order, rules, Status.SPLIT, tuple(packages), tuple(reasons), verdicts)


def _decided(order: Order, rules: RoutingRules, status: Status, packages: tuple[Package, ...],
             reasons: tuple[str, ...], verdicts: dict[str, Verdict]) -> Decision:
    return Decision(order.order_id, status, packages, reasons,
                    tuple(verdicts[s] for s in sorted(verdicts)), rules.version)


def _unroutable(order: Order, rules: RoutingRules, verdicts: tuple[Verdict, ...],
                reason: str) -> Decision:
    return Decision(order.order_id, Status.UNROUTABLE, (), (reason,), verdicts, rules.version)
