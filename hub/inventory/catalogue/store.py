"""The catalogue in the hub's database: read one entry, write one, import many; all audited.

Rules:
- a write compares the new entry with the stored one: a new SKU is ``created``, a different one
  ``updated``, an equal one ``unchanged`` — and only a created or updated entry is written and
  audited (``catalogue.item_updated``, entity ``sku``, before and after, in the same
  transaction), so importing the same file twice changes nothing and audits nothing the second
  time;
- an import writes in batches of ``BATCH`` SKUs, one transaction each (one statement reads a
  batch's stored entries); a batch that fails is rolled back whole and a repeat of the import
  picks up where it stopped, since what was written is ``unchanged`` the second time;
- unit costs are stored quantised to the currency's minor units, and read back as ``Money``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from hub.access.users import Actor
from hub.inventory.catalogue.item import CatalogueItem, check_sku
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx, writing
from hub.storage.money import money_of, quantized
from hub.storage.tables.catalogue import catalogue_items

ACTION = "catalogue.item_updated"
ENTITY = "sku"
BATCH = 500


class Outcome(StrEnum):
    """What a write did to one SKU's entry."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Stored:
    """An entry as stored, and who changed it last."""

    sku: str
    item: CatalogueItem
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    """How many SKUs an import created, updated and left as they were."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        """Every SKU of the import."""
        return self.created + self.updated + self.unchanged


def _item_of(row: Any) -> CatalogueItem:
    cost = money_of(row.unit_cost, row.currency) if row.unit_cost is not None else None
    return CatalogueItem(category=row.category, title=row.title, brand=row.brand,
                         unit_cost=cost)


def get_item(conn: Connection, sku: str) -> Stored | None:
    """The stored entry of ``sku``, or None."""
    row = conn.execute(select(catalogue_items).where(catalogue_items.c.sku == sku)).first()
    if row is None:
        return None
    return Stored(row.sku, _item_of(row), row.updated_at, row.updated_by)


def put_item(engine: Engine, sku: str, item: CatalogueItem, actor: Actor) -> Outcome:
    """Create or replace the entry of ``sku``; audited when it changes."""
    check_sku(sku)
    with writing(engine) as tx:
        return _write(tx, [(sku, item)], actor)[0]


def import_items(engine: Engine, items: Sequence[tuple[str, CatalogueItem]], actor: Actor,
                 progress: Callable[[int], None] | None = None) -> ImportResult:
    """Write every (SKU, item), ``BATCH`` per transaction; ``progress`` hears each batch's size."""
    counts = dict.fromkeys(Outcome, 0)
    for start in range(0, len(items), BATCH):
        batch = items[start:start + BATCH]
        with writing(engine) as tx:
            for outcome in _write(tx, batch, actor):
                counts[outcome] += 1
        if progress is not None:
            progress(len(batch))
    return ImportResult(counts[Outcome.CREATED], counts[Outcome.UPDATED],
                        counts[Outcome.UNCHANGED])


def _columns(item: CatalogueItem) -> dict[str, Any]:
    cost = item.unit_cost
    return {
        "category": item.category,
        "title": item.title,
        "brand": item.brand,
        "unit_cost": quantized(cost.amount, cost.currency) if cost else None,
        "currency": cost.currency if cost else None,
    }


def _write(tx: Tx, batch: Sequence[tuple[str, CatalogueItem]], actor: Actor) -> list[Outcome]:
    skus = [sku for sku, _ in batch]
    rows = tx.conn.execute(select(catalogue_items).where(catalogue_items.c.sku.in_(skus)))
    stored = {row.sku: _item_of(row) for row in rows}
    stamp = {"updated_at": tx.now, "updated_by": actor.name}
    outcomes: list[Outcome] = []
    fresh: list[dict[str, Any]] = []
    for sku, item in batch:
        before = stored.get(sku)
        if before == item:
            outcomes.append(Outcome.UNCHANGED)
            continue
        if before is None:
            fresh.append({"sku": sku, **_columns(item), **stamp})
            outcomes.append(Outcome.CREATED)
        else:
            tx.conn.execute(update(catalogue_items).where(catalogue_items.c.sku == sku)
                            .values(**_columns(item), **stamp))
            outcomes.append(Outcome.UPDATED)
        tx.audit(AuditDraft(actor.name, actor.role, ACTION, ENTITY, sku,
                            before.model_dump(mode="json") if before else None,
                            item.model_dump(mode="json")))
    if fresh:
        tx.conn.execute(catalogue_items.insert(), fresh)
    return outcomes
