"""The store ↔ supply source mapping (``amazon_supply_sources``): read it, record each change.

Rules:
- at most one ``active`` row per account × store; archiving sets ``archived`` and
  ``archived_at`` and keeps the row (the history of which id served which store);
- every change is written with its audit entry in one transaction (entity
  ``amazon_supply_source``, id ``<account>/<store>``): ``amazon.supply_source.created``,
  ``.configured`` (before and after fingerprints) and ``.archived`` (with why);
- a created row has no fingerprint (``""``) until its configuration was sent and the source
  made Active (``record_updated``): a run that stopped between the two configures it again;
- the stores to publish are read here too: every store with its record, name and whether it is
  decommissioned.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, select, update

from hub.amazon.supply_sources.document import Documents, Mapped, Store, digest
from hub.inventory.store_records import get_record
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx, writing
from hub.storage.tables.amazon_listings import amazon_supply_sources as t
from hub.storage.tables.core import stores

ENTITY = "amazon_supply_source"


def active(conn: Connection, account: str) -> dict[str, Mapped]:
    """The account's active supply sources by store id."""
    rows = conn.execute(select(t).where(t.c.account == account, t.c.status == "active"))
    return {r.store_id: Mapped(r.store_id, r.supply_source_id, r.fingerprint,
                               digest((r.document or {}).get("create")))
            for r in rows}


def listed(conn: Connection, account: str | None = None) -> list[dict[str, Any]]:
    """Every mapping row (archived ones too), by account, store and time."""
    query = select(t).order_by(t.c.account, t.c.store_id, t.c.created_at, t.c.id)
    if account is not None:
        query = query.where(t.c.account == account)
    return [
        {"account": r.account, "store_id": r.store_id, "supply_source_id": r.supply_source_id,
         "code": r.code, "status": r.status, "created_at": r.created_at,
         "updated_at": r.updated_at, "archived_at": r.archived_at}
        for r in conn.execute(query)
    ]


def known_stores(conn: Connection) -> list[Store]:
    """Every store the hub knows, with its record."""
    found = []
    for row in conn.execute(select(stores.c.store_id, stores.c.name,
                                   stores.c.decommissioned_at).order_by(stores.c.store_id)):
        got = get_record(conn, row.store_id)
        if got is not None:
            found.append(Store(row.store_id, row.name, got[0], row.decommissioned_at is not None))
    return found


def _audit(tx: Tx, actor: str, role: str, action: str, account: str, store_id: str,
           before: Any, after: Any, why: str | None = None) -> None:
    tx.audit(AuditDraft(actor, role, f"amazon.supply_source.{action}", ENTITY,
                        f"{account}/{store_id}", before, after, why))


def record_created(engine: Engine, account: str, docs: Documents, supply_source_id: str,
                   actor: str, role: str, why: str | None = None) -> Mapped:
    """A supply source now serves the store (not yet configured)."""
    with writing(engine) as tx:
        tx.conn.execute(t.insert().values(
            account=account, store_id=docs.store_id, supply_source_id=supply_source_id,
            code=docs.create["supplySourceCode"], status="active", fingerprint="",
            document={"create": docs.create, "update": docs.update}, created_at=tx.now,
            updated_at=tx.now))
        _audit(tx, actor, role, "created", account, docs.store_id, None,
               {"supply_source_id": supply_source_id, **docs.create}, why)
    return Mapped(docs.store_id, supply_source_id, "", docs.create_fingerprint)


def record_updated(engine: Engine, account: str, docs: Documents, mapped: Mapped,
                   actor: str, role: str) -> None:
    """The store's supply source was configured from the record's documents."""
    with writing(engine) as tx:
        tx.conn.execute(update(t).where(
            t.c.account == account, t.c.supply_source_id == mapped.supply_source_id).values(
            fingerprint=docs.fingerprint, document={"create": docs.create, "update": docs.update},
            updated_at=tx.now))
        _audit(tx, actor, role, "configured", account, docs.store_id,
               {"fingerprint": mapped.fingerprint or None},
               {"supply_source_id": mapped.supply_source_id, "fingerprint": docs.fingerprint,
                "status": "Active", **docs.update},
               "the store record changed" if mapped.fingerprint else "newly created")


def record_archived(engine: Engine, account: str, mapped: Mapped, actor: str, role: str,
                    why: str) -> None:
    """The store's supply source was archived."""
    with writing(engine) as tx:
        tx.conn.execute(update(t).where(
            t.c.account == account, t.c.supply_source_id == mapped.supply_source_id).values(
            status="archived", archived_at=tx.now, updated_at=tx.now))
        _audit(tx, actor, role, "archived", account, mapped.store_id,
               {"supply_source_id": mapped.supply_source_id, "status": "active"},
               {"status": "archived"}, why)
