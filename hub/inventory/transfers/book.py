"""Settlement lines booked from priced lines: shared by received transfers (``follow``) and
packages a store shipped for another region's order (``fills``).

Rules: each line is priced by the active transfer price rules (``pricing``) with the two stores'
regions, the SKU's catalogue category and unit cost; the lines are stored in
``transfer_settlement_lines`` under ``transfer_id`` in the month of ``at`` (UTC), and the priced
lines are returned for the audit entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from hub.inventory.transfers import rules_store
from hub.inventory.transfers.pricing import LineFacts, Rate, price
from hub.storage.money import money_of
from hub.storage.tables.catalogue import catalogue_items
from hub.storage.tables.core import stores
from hub.storage.tables.transfers import transfer_settlement_lines

# the exchange rates of a day, read through the open connection (the ingest passes the finance
# context's ``FxBook``: contexts do not import each other)
Rates = Callable[[Connection, date], Rate]
AUDITED = ("sku", "quantity", "difference", "unit_price", "amount", "currency", "rule", "why")


@dataclass(frozen=True, slots=True)
class Counted:
    """One line to price: units the receiving side pays for, and received minus shipped."""

    sku: str
    quantity: int
    difference: int = 0


def no_rates(_conn: Connection, _day: date) -> Rate:
    """No exchange rate at all: a line in another currency stays unpriced."""
    return lambda _currency, _base: None


def regions(conn: Connection, store_ids: Sequence[str]) -> dict[str, str | None]:
    """Each known store's region (None when it has none)."""
    return {r.store_id: r.region for r in conn.execute(select(
        stores.c.store_id, stores.c.region).where(stores.c.store_id.in_(list(store_ids))))}


def book(conn: Connection, transfer_id: str, from_store: str, to_store: str,
         lines: Sequence[Counted], at: datetime, rate: Rate,
         why_prefix: str = "") -> list[dict[str, Any]]:
    """Price and store the settlement lines of one transfer (see the module rules)."""
    rules = rules_store.active(conn)
    region = regions(conn, [from_store, to_store])
    items = {r.sku: r for r in conn.execute(select(catalogue_items).where(
        catalogue_items.c.sku.in_([li.sku for li in lines])))}
    rows = []
    for li in lines:
        item = items.get(li.sku)
        cost = (money_of(item.unit_cost, item.currency)
                if item is not None and item.unit_cost is not None else None)
        facts = LineFacts(li.sku, li.quantity, li.difference, from_store, to_store,
                          region.get(from_store), region.get(to_store),
                          item.category if item is not None else None, cost)
        line = price(facts, rules, rate)
        rows.append({"transfer_id": transfer_id, "sku": line.sku,
                     "month": at.strftime("%Y-%m"), "from_store": from_store,
                     "to_store": to_store, "from_region": facts.from_region,
                     "to_region": facts.to_region, "category": facts.category,
                     "quantity": line.quantity, "difference": line.difference,
                     "unit_price": line.unit_price, "amount": line.amount,
                     "currency": line.currency, "rule": line.rule,
                     "why": (why_prefix + line.why)[:1000],
                     "fx": line.fx, "rules_version": rules.version, "received_at": at})
    conn.execute(transfer_settlement_lines.insert(), rows)
    return [{k: row[k] for k in AUDITED} for row in rows]
