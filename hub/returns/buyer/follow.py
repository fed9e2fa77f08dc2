"""Where each return a buyer booked online stands, for the desk. Read-only, derived.

Rules:
- a booked return is ``received`` once a counter recorded a return carrying its code as the RMA
  (``returns.rma_id``): at the chosen store or, when the buyer went elsewhere, at another store
  (``elsewhere`` is then true); the return's id, store and time are shown;
- not received: ``overdue`` after its ``expected_by`` (booked + ``EXPECTED_FOR``), else
  ``expected``;
- nothing is stored here: the state follows from the stores' own records, so it can never
  disagree with them (the counter's receipt is itself audited where it is recorded).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from hub.returns.buyer.service import EXPECTED_FOR
from hub.storage.tables.buyer import buyer_returns
from hub.storage.tables.core import returns

STATUSES = ("expected", "received", "overdue")


def status_of(received_at: datetime | None, created_at: datetime, now: datetime) -> str:
    """A booked return's status (pure)."""
    if received_at is not None:
        return "received"
    return "overdue" if now > created_at + EXPECTED_FOR else "expected"


def listing(conn: Connection, now: datetime, visible: Callable[[str], bool],
            status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The booked returns the caller may see (``visible(store_id)``), newest first."""
    b, r = buyer_returns.c, returns.c
    rows = conn.execute(
        select(b.code, b.account, b.order_id, b.marketplace_id, b.store_id, b["items"],
               b.created_at, r.store_id.label("received_store"),
               r.return_id, r.received_at)
        .select_from(buyer_returns.outerjoin(returns, r.rma_id == b.code))
        .order_by(b.created_at.desc(), b.code))
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in rows:
        if row.code in seen:  # a code recorded twice (two counters): the first receipt
            continue
        seen.add(row.code)
        if not (visible(row.store_id) or (row.received_store and visible(row.received_store))):
            continue
        state = status_of(row.received_at, row.created_at, now)
        if status is not None and state != status:
            continue
        found.append({
            "code": row.code, "account": row.account, "order_id": row.order_id,
            "marketplace_id": row.marketplace_id, "store_id": row.store_id,
            "items": row.items, "booked_at": row.created_at,
            "expected_by": row.created_at + EXPECTED_FOR, "status": state,
            "received_store": row.received_store, "return_id": row.return_id,
            "received_at": row.received_at,
            "elsewhere": row.received_store is not None and row.received_store != row.store_id})
        if len(found) >= limit:
            break
    return found
