"""Store records through the API: ``GET``/``PUT /api/stores/{store_id}/record``.

Reading: anyone who may view, for a store in their scope. Writing: an admin, or a regional
manager for a store in their scope (a record is the store's address, manager, hours and what it
offers customers, which HQ and the region keep). ``PUT`` replaces the whole record; each bad field
answers 422 naming it (``hours.mon.0.closes``); every change is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from hub.access.permissions import Principal, Role, require_in_scope
from hub.access.users import Actor
from hub.errors import Forbidden, NotFound
from hub.fleet import stores as store_attrs
from hub.inventory import store_records
from hub.inventory.store_records import StoreRecord
from hub.storage.engine import reading
from hub.web.api.deps import Caller, Hub, Viewer
from hub.web.api.idempotency import IDEMPOTENT
from hub.web.api.models import ErrorOut
from protocol import utc_now

router = APIRouter(prefix="/api/stores", tags=["store records"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 422)
}
EDITORS = frozenset({Role.ADMIN, Role.REGIONAL_MANAGER})


class StoreRecordOut(StoreRecord):
    """A store's record, whether it is open now, and who changed it last."""

    store_id: str
    open_now: bool | None
    updated_at: datetime | None
    updated_by: str | None


def _in_scope(hub: Hub, who: Principal, store_id: str) -> None:
    with reading(hub.engine) as conn:
        place = store_attrs.place(conn, store_id)
    require_in_scope(who, place)


def _out(store_id: str, record: StoreRecord, changed: dict[str, Any]) -> StoreRecordOut:
    return StoreRecordOut(store_id=store_id, open_now=store_records.open_now(record, utc_now()),
                          **record.model_dump(), **changed)


@router.get("/{store_id}/record", response_model=StoreRecordOut, responses=ERRORS)
def get_record(hub: Hub, who: Viewer, store_id: str) -> StoreRecordOut:
    """A store's record (empty fields for a known store not yet described)."""
    _in_scope(hub, who, store_id)
    with reading(hub.engine) as conn:
        found = store_records.get_record(conn, store_id)
    if found is None:
        raise NotFound(f"no store {store_id!r}", field="store_id")
    return _out(store_id, *found)


@router.put("/{store_id}/record", response_model=StoreRecordOut, responses=ERRORS,
            dependencies=IDEMPOTENT)
def put_record(hub: Hub, who: Caller, store_id: str, body: StoreRecord) -> StoreRecordOut:
    """Replace a store's record (admin, or the regional manager of its region); audited."""
    if who.role not in EDITORS:
        raise Forbidden(f"role {who.role.value} may not change store records")
    _in_scope(hub, who, store_id)
    store_records.set_record(hub.engine, store_id, body, Actor(who.actor, who.role.value))
    with reading(hub.engine) as conn:
        found = store_records.get_record(conn, store_id)
    if found is None:  # removed between the two transactions
        raise NotFound(f"no store {store_id!r}", field="store_id")
    return _out(store_id, *found)
