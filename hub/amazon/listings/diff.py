"""Which offered quantities are changes for Amazon (pure).

An offer is (seller account, marketplace, SKU, quantity), and for multi-location marketplaces
the quantity of each supply source (``sources``, whose sum ``quantity`` is). It is a change when
its ``state`` (the quantity, with the sources when there are any) differs from the one last
queued for that key, or when nothing was ever queued for it. The allocation
engine speaks per (SKU, marketplace); ``from_allocation`` names the seller account that sells in
each marketplace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Key = tuple[str, str, str]  # (account, marketplace_id, sku)
Sources = tuple[tuple[str, int], ...]  # (supply source id, quantity), by id


@dataclass(frozen=True, slots=True)
class Offered:
    """A quantity to be offered on Amazon."""

    account: str
    marketplace_id: str
    sku: str
    quantity: int
    sources: Sources = ()

    def __post_init__(self) -> None:
        if self.quantity < 0 or any(q < 0 for _, q in self.sources):
            raise ValueError(f"{self.sku}: a quantity offered cannot be negative")
        if self.sources and sum(q for _, q in self.sources) != self.quantity:
            raise ValueError(f"{self.sku}: the supply sources' quantities must sum to the total")
        if not self.sku or len(self.sku) > 100:
            raise ValueError(f"SKU {self.sku!r}: 1 to 100 characters")

    @property
    def key(self) -> Key:
        """(account, marketplace, SKU)."""
        return (self.account, self.marketplace_id, self.sku)

    @property
    def state(self) -> object:
        """What a change compares: the quantity, or (quantity, sources) when there are any."""
        return state_of(self.quantity, self.sources)


def state_of(quantity: int, sources: Sources) -> object:
    """The comparable state of a quantity and its supply sources."""
    return (quantity, tuple(sorted(sources))) if sources else quantity


def changes(offered: Iterable[Offered], last: Mapping[Key, object]) -> list[Offered]:
    """The offers whose state differs from the last queued one, in key order.

    Two offers for one key: the later one counts (the newest decision wins)."""
    newest = {offer.key: offer for offer in offered}
    return [offer for key, offer in sorted(newest.items()) if last.get(key) != offer.state]


def from_allocation(
    quantities: Iterable[tuple[str, str, int]], account_of: Mapping[str, str]
) -> tuple[list[Offered], list[str]]:
    """(sku, marketplace, quantity) triples as offers, and the marketplaces no account sells in."""
    offers, unsold = [], set()
    for sku, marketplace_id, quantity in quantities:
        account = account_of.get(marketplace_id)
        if account is None:
            unsold.add(marketplace_id)
            continue
        offers.append(Offered(account, marketplace_id, sku, max(0, quantity)))
    return offers, sorted(unsold)
