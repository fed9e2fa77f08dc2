"""A rules document turned into lookups the engine reads per stock line (built once per version).

Rules: compiling is pure and cannot fail for a document that validated; percentages become
basis points (``80.5`` → 8050) so that the engine counts in integers and rounds down exactly;
reserves are kept whole here and picked per ``now`` by ``active_reserves``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.inventory.allocation.document import IN_STORE, RulesDocument
from hub.inventory.allocation.loader import load_rules_yaml

BASIS = 10_000  # basis points in 100 %


@dataclass(frozen=True, slots=True)
class CompiledMarketplace:
    """One marketplace's rules, ready for the engine."""

    marketplace: str
    basis_points: int
    cap: int | None
    sku_caps: dict[str, int]
    excluded: frozenset[str]
    multi_location: bool


@dataclass(frozen=True, slots=True)
class CompiledReserve:
    """One reserve; ``None`` filters match everything."""

    rule: str
    target: str  # IN_STORE or a marketplace id
    quantity: int
    skus: frozenset[str] | None
    categories: frozenset[str] | None
    stores: frozenset[str] | None
    starts: datetime | None
    ends: datetime | None

    def active(self, now: datetime) -> bool:
        """True while the reserve holds (``ends`` exclusive)."""
        started = self.starts is None or self.starts <= now
        return started and (self.ends is None or now < self.ends)

    def covers(self, sku: str, category: str | None) -> bool:
        """True when the reserve applies to this SKU (stores are checked per line)."""
        return (self.skus is None or sku in self.skus) and (
            self.categories is None or category in self.categories
        )


@dataclass(frozen=True)
class CompiledRules:
    """A whole rules version, ready for the engine."""

    version: int
    name: str
    floor_default: int
    floor_stores: dict[str, int]
    floor_categories: dict[str, int]
    floor_skus: dict[str, int]
    floor_sku_stores: dict[tuple[str, str], int]
    marketplaces: tuple[CompiledMarketplace, ...]
    reserves: tuple[CompiledReserve, ...]
    group_rank: dict[str, int]
    slow_movers_first: bool

    def active_reserves(self, now: datetime) -> tuple[CompiledReserve, ...]:
        """The reserves that hold at ``now``."""
        return tuple(r for r in self.reserves if r.active(now))


def _frozen(values: tuple[str, ...]) -> frozenset[str] | None:
    return frozenset(values) if values else None


def compile_rules(doc: RulesDocument) -> CompiledRules:
    """The engine's view of a validated document."""
    floors = doc.safety_stock
    markets = tuple(
        CompiledMarketplace(
            marketplace=mp,
            basis_points=int(rules.share_percent * 100),
            cap=rules.cap,
            sku_caps=dict(rules.sku_caps),
            excluded=frozenset(rules.excluded_stores),
            multi_location=rules.multi_location,
        )
        for mp, rules in sorted(doc.marketplaces.items())
    )
    reserves = tuple(
        CompiledReserve(
            rule=f"reserves.{r.name}",
            target=r.for_,
            quantity=r.quantity,
            skus=_frozen(r.skus),
            categories=_frozen(r.categories),
            stores=_frozen(r.stores),
            starts=r.starts,
            ends=r.ends,
        )
        for r in doc.reserves
    )
    rank = {
        store: index
        for index, group in enumerate(doc.location_priority.groups)
        for store in group
    }
    return CompiledRules(
        version=doc.version,
        name=doc.name,
        floor_default=floors.default,
        floor_stores=dict(floors.stores),
        floor_categories=dict(floors.categories),
        floor_skus={f.sku: f.floor for f in floors.skus if f.store is None},
        floor_sku_stores={(f.sku, f.store): f.floor for f in floors.skus if f.store is not None},
        marketplaces=markets,
        reserves=reserves,
        group_rank=rank,
        slow_movers_first=doc.location_priority.consume_slow_movers_first,
    )



def compile_text(text: str) -> CompiledRules:
    """Parse, validate and compile a YAML rules document (``RulesError`` names the bad field)."""
    return compile_rules(load_rules_yaml(text))


__all__ = ["BASIS", "IN_STORE", "CompiledMarketplace", "CompiledReserve", "CompiledRules",
           "compile_rules", "compile_text"]
