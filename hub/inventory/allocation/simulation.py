"""Rules simulation: allocate the same stock under the current and a draft version, compare.

Rules:
- per marketplace (of either version): SKUs offered and units offered before and after, how many
  SKUs go up and down, and up to ``examples`` examples of each direction, biggest change first
  (ties by SKU), each with both offers so the desk can show the rules that shaped them;
- a marketplace only one version lists counts as offered nothing by the other;
- categories: the report counts the stock's SKUs that have no category (``uncategorised``, the
  first ``LISTED`` of them by SKU) — no category floor or reserve covers those; and it warns
  (``warnings``, never an error: the draft stays valid) about each category the draft's rules
  name that no SKU of the stock has (the rule shapes nothing: a typo, or a category the
  catalogue does not hold yet), and, when the draft has category rules, about the SKUs they
  cannot cover;
- pure: the same inputs give the same report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.inventory.allocation.compiled import CompiledRules
from hub.inventory.allocation.engine import allocate
from hub.inventory.allocation.values import NO_SALES, Allocation, Offer, Sales, Stock

LISTED = 20  # uncategorised SKUs named in a report (all are counted)


@dataclass(frozen=True, slots=True)
class OfferChange:
    """One SKU whose offer on a marketplace changes."""

    sku: str
    before: int
    after: int
    before_offer: Offer | None
    after_offer: Offer | None


@dataclass(frozen=True, slots=True)
class MarketplaceChange:
    """What one marketplace would be offered before and after."""

    marketplace: str
    skus_before: int  # SKUs offered at least one unit
    skus_after: int
    units_before: int
    units_after: int
    raised: int
    lowered: int
    examples: tuple[OfferChange, ...]


@dataclass(frozen=True, slots=True)
class RuleWarning:
    """Something in a draft that is allowed but probably not meant, at its field path."""

    path: str
    message: str


@dataclass(frozen=True, slots=True)
class CategoryCoverage:
    """How the stock's categories meet the draft's category rules."""

    uncategorised: int = 0  # SKUs of the stock without a category
    uncategorised_skus: tuple[str, ...] = ()  # the first LISTED of them, by SKU
    warnings: tuple[RuleWarning, ...] = ()


@dataclass(frozen=True, slots=True)
class RulesSimulation:
    """The draft against the current version over one stock snapshot."""

    current_version: int
    draft_version: int
    skus: int
    marketplaces: tuple[MarketplaceChange, ...]
    categories: CategoryCoverage = CategoryCoverage()

    @property
    def changed(self) -> int:
        """SKU × marketplace offers whose quantity changes."""
        return sum(m.raised + m.lowered for m in self.marketplaces)


def simulate(draft: CompiledRules, current: CompiledRules, stock: Stock,
             sales: Sales = NO_SALES, now: datetime | None = None,
             examples: int = 3) -> RulesSimulation:
    """Allocate ``stock`` under both versions at ``now`` and report what would change."""
    before = allocate(stock, current, sales, now)
    after = allocate(stock, draft, sales, now)
    markets = sorted({m.marketplace for m in (*current.marketplaces, *draft.marketplaces)})
    skus = sorted({sku for sku, _ in (*before.offers, *after.offers)})
    return RulesSimulation(
        current.version, draft.version, len(skus),
        tuple(_compare(market, skus, before, after, examples) for market in markets),
        category_coverage(draft, stock),
    )


def category_rules(rules: CompiledRules) -> list[tuple[str, str]]:
    """(path, category) of every category the rules name: floors, then reserves."""
    named = [(f"safety_stock.categories.{c}", c) for c in sorted(rules.floor_categories)]
    for reserve in rules.reserves:
        named += [(f"{reserve.rule}.categories", c) for c in sorted(reserve.categories or ())]
    return named


def category_coverage(rules: CompiledRules, stock: Stock) -> CategoryCoverage:
    """The stock's SKUs without a category, and warnings about ``rules``' category entries."""
    held = {line.sku for line in stock.lines}
    known = {stock.categories[sku] for sku in held if sku in stock.categories}
    missing = sorted(sku for sku in held if sku not in stock.categories)
    named = category_rules(rules)
    warnings = [RuleWarning(path, f"no SKU in the stock has the category {category!r}, so "
                                  "this rule applies to nothing")
                for path, category in named if category not in known]
    if named and missing:
        shown = ", ".join(missing[:5]) + (", …" if len(missing) > 5 else "")
        warnings.append(RuleWarning("categories", f"{len(missing)} of {len(held)} SKUs have no "
                                    f"category, so no category rule covers them ({shown})"))
    return CategoryCoverage(len(missing), tuple(missing[:LISTED]), tuple(warnings))


def _compare(market: str, skus: list[str], before: Allocation, after: Allocation,
             examples: int) -> MarketplaceChange:
    changes: list[OfferChange] = []
    skus_before = skus_after = units_before = units_after = 0
    for sku in skus:
        old, new = before.offers.get((sku, market)), after.offers.get((sku, market))
        q_old, q_new = (old.quantity if old else 0), (new.quantity if new else 0)
        skus_before += q_old > 0
        skus_after += q_new > 0
        units_before += q_old
        units_after += q_new
        if q_old != q_new:
            changes.append(OfferChange(sku, q_old, q_new, old, new))
    biggest_first = lambda c: (-abs(c.after - c.before), c.sku)  # noqa: E731
    up = sorted((c for c in changes if c.after > c.before), key=biggest_first)
    down = sorted((c for c in changes if c.after < c.before), key=biggest_first)
    return MarketplaceChange(
        market, skus_before, skus_after, units_before, units_after, len(up), len(down),
        tuple(up[:examples]) + tuple(down[:examples]),
    )


def offer_json(offer: Offer | None) -> dict[str, object] | None:
    """An offer as JSON: quantity, on hand, the rules that shaped it, per-store quantities."""
    if offer is None:
        return None
    return {
        "quantity": offer.quantity,
        "on_hand": offer.on_hand,
        "steps": [{"rule": step.rule, "units": step.units} for step in offer.steps],
        "stores": [{"store": store, "quantity": q} for store, q in offer.stores],
    }


def report_json(report: RulesSimulation) -> dict[str, object]:
    """A simulation report as JSON (what the API answers and ``--json`` prints)."""
    return {
        "current_version": report.current_version,
        "draft_version": report.draft_version,
        "skus": report.skus,
        "changed": report.changed,
        "uncategorised": report.categories.uncategorised,
        "uncategorised_skus": list(report.categories.uncategorised_skus),
        "warnings": [{"field": w.path, "message": w.message}
                     for w in report.categories.warnings],
        "marketplaces": [
            {
                "marketplace": m.marketplace,
                "skus_before": m.skus_before,
                "skus_after": m.skus_after,
                "units_before": m.units_before,
                "units_after": m.units_after,
                "raised": m.raised,
                "lowered": m.lowered,
                "examples": [
                    {"sku": c.sku, "before": offer_json(c.before_offer),
                     "after": offer_json(c.after_offer)}
                    for c in m.examples
                ],
            }
            for m in report.marketplaces
        ],
    }
