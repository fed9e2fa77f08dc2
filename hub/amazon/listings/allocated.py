"""Offers straight from the allocation engine: the active rules over the hub's stock view, for
one seller account, queued as changes in the listings outbox.

Rules:
- the rules name marketplaces by Amazon's id (``ATVPDKIKX0DER``) or by ACORN's code (``US``);
  ``market_ids`` maps each to Amazon's id; a name that is neither is not an Amazon marketplace
  and is skipped;
- an account is offered, for each marketplace it sells in and the rules list, the engine's
  quantity of every SKU the stock view holds (multi-location marketplaces: the summed quantity,
  sent as the ``DEFAULT`` fulfillment channel; supply sources are not sent yet);
- only quantities that differ from the last one queued for (account, marketplace, SKU) are
  queued (``outbox.enqueue``): running twice over the same stock queues nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Engine

from hub.amazon.listings import outbox
from hub.amazon.listings.diff import Offered, from_allocation
from hub.amazon.marketplaces import by_code, by_id
from hub.inventory.allocation import Allocation, allocate
from hub.inventory.allocation import store as rules_store
from hub.inventory.stock_source import current_stock
from hub.storage.engine import reading


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


def offers_for(allocation: Allocation, ids: Mapping[str, str], account: str,
               sells_in: Iterable[str]) -> list[Offered]:
    """The offers of ``account`` (selling in ``sells_in``) from one allocation."""
    account_of = dict.fromkeys(sells_in, account)
    triples = [(sku, ids[market], offer.quantity)
               for (sku, market), offer in sorted(allocation.offers.items()) if market in ids]
    offered, _unsold = from_allocation(triples, account_of)
    return offered


def allocated_offers(engine: Engine, account: str, sells_in: Iterable[str],
                     now: datetime) -> list[Offered]:
    """What the active rules offer ``account`` over the hub's current stock view at ``now``."""
    rules = rules_store.ensure_seeded(engine).compiled
    with reading(engine) as conn:
        stock, sales = current_stock(conn, now)
    allocation = allocate(stock, rules, sales, now)
    ids = market_ids(m.marketplace for m in rules.marketplaces)
    return offers_for(allocation, ids, account, sells_in)


def queue_allocated(engine: Engine, account: str, sells_in: Iterable[str], now: datetime,
                    actor: str, role: str) -> tuple[int, int]:
    """Queue the changed offers of ``account``; (offers computed, changes queued)."""
    offered = allocated_offers(engine, account, sells_in, now)
    queued = outbox.enqueue(engine, offered, actor, role) if offered else []
    return len(offered), len(queued)
