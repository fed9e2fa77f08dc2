"""Offers straight from the allocation engine: the active rules over the hub's stock view, for
one seller account, queued as changes in the listings outbox.

Rules:
- the rules name marketplaces by Amazon's id (``ATVPDKIKX0DER``) or by ACORN's code (``US``);
  ``market_ids`` maps each to Amazon's id; a name that is neither is not an Amazon marketplace
  and is skipped;
- an account is offered, for each marketplace it sells in and the rules list, the engine's
  quantity of every SKU the stock view holds;
- multi-location US marketplaces (``multi_location`` in the rules) where the account has
  published supply sources (``hub.amazon.supply_sources``): a quantity per supply source, the
  engine's per-store quantity of the store it serves, and 0 for a published store the engine
  offers nothing from (so a store that sold out goes to 0). Stores that are not supply sources
  (no ship-from-store or pickup) cannot fulfil an Amazon order and add nothing. Elsewhere, or
  before any store is published: the summed quantity as ``DEFAULT``;
- **one marketplace, several accounts**: the engine says what a marketplace may sell, not what
  each account may; offering it to every account that sells there would multiply it (oversell).
  The whole offer goes to one account, the others are offered 0, so the accounts' quantities
  never sum above the offer. Which one: the account with the smallest name among those selling
  in the marketplace. A configured share would need a home that does not exist (the rules are
  per marketplace, the account table holds no share), and a split by SKU would move a SKU's
  stock between accounts whenever one is added; the name order is stable, the same whichever
  account's job runs first, and an operator picks the owner by naming the accounts;
- only quantities that differ from the last one queued for (account, marketplace, SKU) are
  queued (``outbox.enqueue``): running twice over the same stock queues nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Engine

from hub.amazon.accounts import Account, list_accounts
from hub.amazon.listings import outbox
from hub.amazon.listings.diff import Offered
from hub.amazon.supply_sources import registry
from hub.amazon.supply_sources.markets import US, market_ids, mli_markets
from hub.inventory.allocation import Allocation, Offer, allocate
from hub.inventory.allocation import store as rules_store
from hub.inventory.stock_source import current_stock
from hub.storage.engine import reading

__all__ = ["allocated_offers", "market_ids", "offers_for", "owners", "queue_allocated"]
StoreSources = Mapping[str, Mapping[str, str]]  # marketplace id -> store id -> supply source id


def owners(accounts: Iterable[Account]) -> dict[str, str]:
    """Marketplace id -> the account offered its quantities (see the module's rules)."""
    found: dict[str, str] = {}
    for account in sorted(accounts, key=lambda a: a.name):
        for market in account.marketplace_ids:
            found.setdefault(market, account.name)
    return found


def _offered(account: str, market: str, offer: Offer, owned: bool,
             sources: Mapping[str, str]) -> Offered:
    if not sources:
        return Offered(account, market, offer.sku, max(0, offer.quantity) if owned else 0)
    per = dict.fromkeys(sources.values(), 0)
    if owned:
        for store, quantity in offer.stores:
            if store in sources:
                per[sources[store]] += max(0, quantity)
    pairs = tuple(sorted(per.items()))
    return Offered(account, market, offer.sku, sum(q for _, q in pairs), pairs)


def offers_for(allocation: Allocation, ids: Mapping[str, str], account: str,
               sells_in: Iterable[str], owner_of: Mapping[str, str] | None = None,
               sources: StoreSources | None = None) -> list[Offered]:
    """The offers of ``account`` (selling in ``sells_in``) from one allocation."""
    markets = set(sells_in)
    found = []
    for (_sku, market), offer in sorted(allocation.offers.items()):
        market_id = ids.get(market)
        if market_id is None or market_id not in markets:
            continue
        owned = (owner_of or {}).get(market_id, account) == account
        found.append(_offered(account, market_id, offer, owned, (sources or {}).get(market_id, {})))
    return found


def allocated_offers(engine: Engine, account: str, sells_in: Iterable[str],
                     now: datetime) -> list[Offered]:
    """What the active rules offer ``account`` over the hub's current stock view at ``now``."""
    rules = rules_store.ensure_seeded(engine).compiled
    ids = market_ids(m.marketplace for m in rules.marketplaces)
    with reading(engine) as conn:
        stock, sales = current_stock(conn, now)
        owner_of = owners(list_accounts(conn))
        mapped = {m.store_id: m.supply_source_id
                  for m in registry.active(conn, account).values()}
    allocation = allocate(stock, rules, sales, now)
    sources = {US: mapped} if US in mli_markets(rules) and mapped else {}
    return offers_for(allocation, ids, account, sells_in, owner_of, sources)


def queue_allocated(engine: Engine, account: str, sells_in: Iterable[str], now: datetime,
                    actor: str, role: str) -> tuple[int, int]:
    """Queue the changed offers of ``account``; (offers computed, changes queued)."""
    offered = allocated_offers(engine, account, sells_in, now)
    queued = outbox.enqueue(engine, offered, actor, role) if offered else []
    return len(offered), len(queued)
