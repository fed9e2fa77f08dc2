"""A refund's full story for the desk: order, return, inspection, rules fired, customer, audit.

Rules:
- only a caller who may view the refund's store gets it (403 otherwise, naming ``store``);
- the customer's history is every other refund with the same customer key, newest first (50);
- the audit history is every entry about the refund and about its return, in chain order;
- ``can_decide`` / ``why_not`` say whether this caller may approve or reject it now, with the
  same checks the approval itself makes (so the desk never offers a button that will fail).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from hub.access.permissions import (
    Action,
    Principal,
    approval_refusal,
    require,
    require_in_scope,
    require_not_own,
)
from hub.errors import Forbidden
from hub.fleet import stores
from hub.refunds.approvals import pending_of
from hub.refunds.projection import entity_id
from hub.refunds.queue import ageing, store_label
from hub.returns.queries import find_one, refund_out, return_detail
from hub.storage import audit_log
from hub.storage.audit_chain import AuditEntry
from hub.storage.money import money_json
from hub.storage.tables.core import refunds
from hub.storage.tables.core import stores as store_table
from protocol import format_utc

HISTORY = 50


def story(
    conn: Connection,
    principal: Principal,
    refund_id: str,
    store: str | None,
    now: datetime,
    target_hours: float,
) -> dict[str, Any]:
    """Everything the desk shows about one refund."""
    require(principal, Action.VIEW)
    row = find_one(conn, refunds, "refund_id", refund_id, store, "refund")
    place = stores.place(conn, row["store_id"])
    require_in_scope(principal, place)
    limit = stores.offline_limit(conn, row["store_id"])
    why_not = _why_not(principal, row, place, limit)
    status, hours = ageing(row["requested_at"], now, target_hours)
    detail = return_detail(conn, row["return_id"], row["store_id"])
    name = conn.execute(select(store_table.c.name)
                        .where(store_table.c.store_id == row["store_id"])).scalar_one_or_none()
    return {
        "refund": refund_out(dict(row)),
        "decision": row["decision"],
        "return": detail,
        "store": {
            "store_id": place.store_id,
            "name": name,
            "label": store_label(place.store_id, name, place.city, place.region),
            "region": place.region,
            "city": place.city,
            "offline_limit": money_json(limit.amount, limit.currency) if limit else None,
        },
        "customer_key": row["customer_key"],
        "customer_history": _history(conn, row),
        "audit": _audit(conn, row),
        "ageing": status,
        "age_hours": round(hours, 2),
        "can_decide": why_not is None,
        "why_not": why_not,
    }


def _why_not(principal: Principal, row: dict[str, Any], place: Any, limit: Any) -> str | None:
    if row["state"] != "pending_approval":
        return f"the refund is {row['state']}"
    refusal = approval_refusal(principal, pending_of(row, place), limit)
    if refusal:
        return refusal
    try:
        require_not_own(principal, row["requested_by"])
    except Forbidden as err:
        return err.message
    return None


def _history(conn: Connection, row: dict[str, Any]) -> list[dict[str, Any]]:
    if not row["customer_key"]:
        return []
    rows = conn.execute(
        select(refunds)
        .where(refunds.c.customer_key == row["customer_key"])
        .where((refunds.c.store_id != row["store_id"]) | (refunds.c.refund_id != row["refund_id"]))
        .order_by(refunds.c.requested_at.desc())
        .limit(HISTORY)
    )
    return [refund_out(dict(r._mapping)) for r in rows]


def _audit(conn: Connection, row: dict[str, Any]) -> list[dict[str, Any]]:
    entries = audit_log.for_entity(
        conn, "refund", entity_id(row["store_id"], row["refund_id"])
    ) + audit_log.for_entity(conn, "return", entity_id(row["store_id"], row["return_id"]))
    return [_entry(e) for e in sorted(entries, key=lambda e: e.seq)]


def _entry(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": format_utc(entry.at),
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "reason": entry.reason,
    }
