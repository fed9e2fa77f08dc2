"""Store attributes that rights depend on: region, city and the offline refund limit.

Rules:
- a store the hub has not heard from yet can be described in advance (``set_store`` creates it);
- a store without region/city is covered only by scopes that do not ask for them;
- the offline limit is Money (amount + currency) or none; with none, the store refunds nothing
  offline and its manager approves nothing on the desk;
- ``in_scope`` turns a principal's scope into a SQL condition on a ``store_id`` column, so lists
  are filtered by the database, never after paging;
- every change is audited as ``store.updated`` with before and after;
- a decommissioned store (``hub.fleet.retire``) keeps its rows and history; ``decommissioned``
  tells enrolment to refuse it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, and_, select, true, update
from sqlalchemy.sql.elements import ColumnElement

from hub.access.permissions import Scope, StorePlace
from hub.access.users import Actor
from hub.errors import InputError
from hub.storage import notices
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import writing
from hub.storage.money import money_of
from hub.storage.tables.core import stores
from protocol import Money, check_id, minor_units

UNSET: Any = object()  # "leave as it is" for set_store's optional fields
FIELDS = ("name", "region", "city", "offline_limit", "offline_currency", "currency", "time_zone",
          "language", "printer_paper")
LANGUAGES = ("en", "de", "zh", "ja")  # what the edge prints receipts in
PAPERS = ("58mm", "80mm")


def place(conn: Connection, store_id: str) -> StorePlace:
    """Where ``store_id`` is (an unknown store has no region or city)."""
    return places(conn, [store_id])[store_id]


def decommissioned(conn: Connection, store_id: str) -> datetime | None:
    """When the store was decommissioned, None if it was not (or is unknown)."""
    when: datetime | None = conn.scalar(select(stores.c.decommissioned_at).where(
        stores.c.store_id == store_id))
    return when


def places(conn: Connection, store_ids: Iterable[str]) -> dict[str, StorePlace]:
    """The places of several stores."""
    wanted = sorted(set(store_ids))
    rows = conn.execute(
        select(stores.c.store_id, stores.c.region, stores.c.city).where(
            stores.c.store_id.in_(wanted)
        )
    )
    found = {r.store_id: StorePlace(r.store_id, r.region, r.city) for r in rows}
    return {s: found.get(s, StorePlace(s)) for s in wanted}


def described(conn: Connection, store_id: str) -> dict[str, Any] | None:
    """The store's row (its settings and config version), or None for an unknown store."""
    row = conn.execute(select(stores).where(stores.c.store_id == store_id)).first()
    return None if row is None else dict(row._mapping)


def offline_limit(conn: Connection, store_id: str) -> Money | None:
    """The store's offline refund limit, or None."""
    row = conn.execute(
        select(stores.c.offline_limit, stores.c.offline_currency).where(
            stores.c.store_id == store_id
        )
    ).first()
    if row is None or row.offline_limit is None or not row.offline_currency:
        return None
    return money_of(row.offline_limit, row.offline_currency)


def in_scope(scope: Scope, store_column: Any) -> ColumnElement[bool]:
    """A SQL condition: the row's store is inside ``scope``."""
    conditions: list[ColumnElement[bool]] = []
    if scope.store is not None:
        conditions.append(store_column == scope.store)
    if scope.region is not None or scope.city is not None:
        inner = select(stores.c.store_id)
        if scope.region is not None:
            inner = inner.where(stores.c.region == scope.region)
        if scope.city is not None:
            inner = inner.where(stores.c.city == scope.city)
        conditions.append(store_column.in_(inner))
    return and_(*conditions) if conditions else true()


def _limit(amount: Decimal | None, currency: str | None) -> tuple[Decimal | None, str | None]:
    if amount is None:
        return None, None
    if not currency:
        raise InputError("an offline limit needs its currency", field="currency")
    try:
        places_ = minor_units(currency)
    except ValueError as err:
        raise InputError(str(err), field="currency") from err
    if not amount.is_finite() or amount < 0 or amount != round(amount, places_):
        raise InputError(f"{amount} is not an amount of {currency}", field="offline_limit")
    return amount, currency


def _node_settings(given: dict[str, str | None]) -> dict[str, str | None]:
    """Check the settings a node receives at enrolment; InputError names the bad one."""
    checks = {
        "currency": lambda v: minor_units(v) >= 0,
        "time_zone": lambda v: bool(ZoneInfo(v)),
        "language": lambda v: v in LANGUAGES,
        "printer_paper": lambda v: v in PAPERS,
    }
    for name, value in given.items():
        if name not in checks:
            raise InputError(f"{name} is not a store setting", field=name)
        try:
            ok = value is None or checks[name](value)
        except (ValueError, KeyError, ZoneInfoNotFoundError):
            ok = False
        if not ok:
            raise InputError(f"{value!r} is not a valid {name.replace('_', ' ')}", field=name)
    return dict(given)


def set_store(
    engine: Engine,
    store_id: str,
    actor: Actor,
    *,
    name: Any = UNSET,
    region: Any = UNSET,
    city: Any = UNSET,
    limit: Any = UNSET,
    currency: str | None = None,
    node_settings: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """Describe a store (creating it if new); ``UNSET`` fields stay as they are.

    ``node_settings`` (currency, time_zone, language, printer_paper) are what a node is told at
    enrolment.
    """
    try:
        check_id(store_id, "store id")
    except ValueError as err:
        raise InputError(str(err), field="store") from err
    changes: dict[str, Any] = {
        k: v for k, v in (("name", name), ("region", region), ("city", city)) if v is not UNSET
    }
    changes.update(_node_settings(node_settings or {}))
    if limit is not UNSET:
        changes["offline_limit"], changes["offline_currency"] = _limit(limit, currency)
    with writing(engine) as tx:
        row = tx.conn.execute(
            select(stores).where(stores.c.store_id == store_id).with_for_update()
        ).first()
        before = {k: getattr(row, k) for k in FIELDS} if row else None
        if row is None:
            tx.conn.execute(stores.insert().values(store_id=store_id, created_at=tx.now, **changes))
        elif changes:
            tx.conn.execute(update(stores).where(stores.c.store_id == store_id).values(changes))
        after = {**(before or dict.fromkeys(FIELDS)), **changes}
        notices.store_config_changed(tx.conn)
        tx.audit(
            AuditDraft(
                actor.name,
                actor.role,
                "store.updated",
                "store",
                store_id,
                jsonable(before),
                jsonable(after),
            )
        )
    return {"store_id": store_id, **after}
