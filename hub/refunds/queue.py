"""The approval queue: refunds waiting for a person, filtered and paged by the database.

Rules:
- the queue is every ``pending_approval`` refund inside the caller's scope, oldest request
  first (then store, refund id, so paging is stable); ``waiting_for="inspection"`` lists instead
  the refunds that wait for their store's inspection (``awaiting_inspection``), to chase stores
  that leave them waiting — nobody approves those;
- filters: approval ``level``, ``store``, ``marketplace`` (``none`` = sales without one),
  ``reason`` (a fired rule id, via the ``refund_rules`` index), age in hours (``min_age_hours``,
  ``max_age_hours``) and ``review`` (flagged for manual review or not);
- every filter is a plain indexed condition (``ix_refunds_queue*``); the count and the page are
  two statements;
- stores are named for people by ``store_label``: "Berlin Mitte (Berlin / DE-East)", the id
  when the store has no name, without the brackets when it has neither city nor region;
  ``store_names`` lists every store in the caller's scope (the facets give them to the desk);
- ageing against the target time: ``ok`` under half of it, ``due`` under all of it, then
  ``late``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, and_, exists, func, select
from sqlalchemy.sql.elements import ColumnElement

from hub.access.permissions import Principal
from hub.fleet.stores import in_scope
from hub.storage.money import money_json
from hub.storage.tables.access import refund_rules
from hub.storage.tables.core import refunds, stores

PENDING = "pending_approval"
WAITING = {"approval": PENDING, "inspection": "awaiting_inspection"}
WaitingFor = Literal["approval", "inspection"]
Ageing = Literal["ok", "due", "late"]
COLUMNS = (
    refunds.c.store_id,
    refunds.c.refund_id,
    refunds.c.return_id,
    refunds.c.amount,
    refunds.c.currency,
    refunds.c.base_amount,
    refunds.c.base_currency,
    refunds.c.channel,
    refunds.c.marketplace_id,
    refunds.c.approval_level,
    refunds.c.outcome,
    refunds.c.reasons,
    refunds.c.requested_by,
    refunds.c.requested_at,
    refunds.c.policy_version,
)


@dataclass(frozen=True)
class QueueFilter:
    """What the desk asks for."""

    level: int | None = None
    store: str | None = None
    marketplace: str | None = None
    reason: str | None = None
    min_age_hours: float | None = None
    max_age_hours: float | None = None
    review: bool | None = None
    limit: int = 50
    offset: int = 0
    waiting_for: WaitingFor = "approval"


def ageing(requested_at: datetime, now: datetime, target_hours: float) -> tuple[Ageing, float]:
    """How late a request is against the target, and its age in hours."""
    hours = max((now - requested_at).total_seconds() / 3600, 0.0)
    if hours >= target_hours:
        return "late", hours
    return ("due" if hours >= target_hours / 2 else "ok"), hours


def conditions(principal: Principal, f: QueueFilter, now: datetime) -> list[ColumnElement[bool]]:
    """The WHERE clause of the queue for this caller and filter."""
    where = [refunds.c.state == WAITING[f.waiting_for],
             in_scope(principal.scope, refunds.c.store_id)]
    if f.level is not None:
        where.append(refunds.c.approval_level == f.level)
    if f.store:
        where.append(refunds.c.store_id == f.store)
    if f.marketplace == "none":
        where.append(refunds.c.marketplace_id.is_(None))
    elif f.marketplace:
        where.append(refunds.c.marketplace_id == f.marketplace)
    if f.reason:
        where.append(
            exists().where(
                and_(
                    refund_rules.c.store_id == refunds.c.store_id,
                    refund_rules.c.refund_id == refunds.c.refund_id,
                    refund_rules.c.rule_id == f.reason,
                )
            )
        )
    if f.min_age_hours is not None:
        where.append(refunds.c.requested_at <= now - timedelta(hours=f.min_age_hours))
    if f.max_age_hours is not None:
        where.append(refunds.c.requested_at >= now - timedelta(hours=f.max_age_hours))
    if f.review is not None:
        flagged = refunds.c.outcome == "manual_review"
        where.append(flagged if f.review else ~flagged)
    return where


def page(
    conn: Connection, principal: Principal, f: QueueFilter, now: datetime, target_hours: float
) -> tuple[list[dict[str, Any]], int]:
    """One page of the queue and the number of refunds that match."""
    where = conditions(principal, f, now)
    total = conn.execute(select(func.count()).select_from(refunds).where(*where)).scalar_one()
    rows = conn.execute(
        select(*COLUMNS)
        .where(*where)
        .order_by(refunds.c.requested_at, refunds.c.store_id, refunds.c.refund_id)
        .limit(f.limit)
        .offset(f.offset)
    )
    return [item(dict(r._mapping), now, target_hours) for r in rows], int(total)


def item(row: dict[str, Any], now: datetime, target_hours: float) -> dict[str, Any]:
    """A queue row in the API's shape."""
    status, hours = ageing(row["requested_at"], now, target_hours)
    base = row.pop("base_amount")
    row["amount"] = money_json(row["amount"], row.pop("currency"))
    currency = row.pop("base_currency")
    row["base_amount"] = money_json(base, currency) if base is not None and currency else None
    row["manual_review"] = row["outcome"] == "manual_review"
    row["age_hours"] = round(hours, 2)
    row["ageing"] = status
    return row


def facets(conn: Connection, principal: Principal) -> dict[str, list[Any]]:
    """The values the queue's filters can take for this caller (what is waiting now)."""
    where = [refunds.c.state == PENDING, in_scope(principal.scope, refunds.c.store_id)]

    def distinct(column: Any) -> list[Any]:
        rows = conn.execute(select(column).where(*where).distinct().order_by(column))
        return [r[0] for r in rows if r[0] is not None]

    rules = conn.execute(
        select(refund_rules.c.rule_id)
        .join(
            refunds,
            and_(
                refunds.c.store_id == refund_rules.c.store_id,
                refunds.c.refund_id == refund_rules.c.refund_id,
            ),
        )
        .where(*where)
        .distinct()
        .order_by(refund_rules.c.rule_id)
    )
    return {
        "levels": distinct(refunds.c.approval_level),
        "stores": distinct(refunds.c.store_id),
        "marketplaces": distinct(refunds.c.marketplace_id),
        "reasons": [r[0] for r in rules],
        "store_names": store_names(conn, principal),
    }


def store_label(store_id: str, name: str | None, city: str | None, region: str | None) -> str:
    """A store as a person reads it: "Berlin Mitte (Berlin / DE-East)", else its id."""
    label = (name or "").strip() or store_id
    if city or region:
        label += f" ({city or '–'} / {region or '–'})"
    return label


def store_names(conn: Connection, principal: Principal) -> list[dict[str, str]]:
    """Every store in the caller's scope as ``{"value": id, "label": words}``, by id."""
    rows = conn.execute(
        select(stores.c.store_id, stores.c.name, stores.c.city, stores.c.region)
        .where(in_scope(principal.scope, stores.c.store_id))
        .order_by(stores.c.store_id)
    )
    return [{"value": r.store_id, "label": store_label(r.store_id, r.name, r.city, r.region)}
            for r in rows]
