"""Which marketplaces the allocation rules name, and which take a quantity per supply source.

The rules name marketplaces by Amazon's id (``ATVPDKIKX0DER``) or by ACORN's code (``US``);
``market_ids`` maps each to Amazon's id (a name that is neither is not an Amazon marketplace and
is left out). Multi-location inventory is a US marketplace feature: ``mli_markets`` is the US
marketplace when the rules mark it ``multi_location``.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.amazon.marketplaces import by_code, by_id
from hub.inventory.allocation import CompiledRules

US = by_code("US").marketplace_id


def market_ids(names: Iterable[str]) -> dict[str, str]:
    """Rules marketplace name -> Amazon marketplace id, for the names that are Amazon's."""
    found: dict[str, str] = {}
    for name in names:
        for lookup in (by_id, by_code):
            try:
                found[name] = lookup(name).marketplace_id
                break
            except ValueError:
                continue
    return found


def mli_markets(rules: CompiledRules) -> frozenset[str]:
    """The marketplace ids that take a quantity per supply source under ``rules``."""
    multi = market_ids(m.marketplace for m in rules.marketplaces if m.multi_location)
    return frozenset(m for m in multi.values() if m == US)
