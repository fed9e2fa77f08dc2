"""Which offered quantities are changes for Amazon (pure).

An offer is (seller account, marketplace, SKU, quantity). It is a change when it differs from
the quantity last queued for that key, or when nothing was ever queued for it. The allocation
engine speaks per (SKU, marketplace); ``from_allocation`` names the seller account that sells in
each marketplace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Key = tuple[str, str, str]  # (account, marketplace_id, sku)


@dataclass(frozen=True, slots=True)
class Offered:
    """A quantity to be offered on Amazon."""

    account: str
    marketplace_id: str
    sku: str
    quantity: int

    def __post_init__(self) -> None:
        if self.quantity < 0:
            raise ValueError(f"{self.sku}: a quantity offered cannot be negative")
        if not self.sku or len(self.sku) > 100:
            raise ValueError(f"SKU {self.sku!r}: 1 to 100 characters")

    @property
    def key(self) -> Key:
        """(account, marketplace, SKU)."""
        return (self.account, self.marketplace_id, self.sku)


def changes(offered: Iterable[Offered], last: Mapping[Key, int]) -> list[Offered]:
    """The offers whose quantity differs from the last queued one, in key order.

    Two offers for one key: the later one counts (the newest decision wins)."""
    newest = {offer.key: offer for offer in offered}
    return [offer for key, offer in sorted(newest.items()) if last.get(key) != offer.quantity]


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
