"""Decided refunds for the desk: searched, filtered and paged by the database.

Rules:
- a decided refund is one a policy or a person has approved or rejected, in any later state
  (``DECIDED``: approved, rejected, submitted, confirmed, settled, failed); newest decision
  first (then store, refund id, so paging is stable; a decision without a time comes last);
- the caller's scope is the same SQL condition as the queue's (``in_scope``), part of the
  WHERE clause, so a page never holds a refund outside it and the total counts none;
- searches are exact matches: ``order_id``, ``return_code`` (the return id or its RMA code),
  ``customer_key``, ``store``, ``sku`` (any item of the refund's return); ``outcome`` is
  ``approved`` (approved and every payment state after it) or ``rejected``; ``state`` one state;
- the amount range is inclusive and in the base currency of the decision (what the tiers
  compare), or, with ``currency``, in the refund's own amount of that currency;
- amounts compare exactly on PostgreSQL (NUMERIC); SQLite keeps them as text, so there both
  sides compare as REAL (the same rounding on both sides: a bound is inclusive, and amounts
  within 15 significant digits keep their order);
- the decided-date range is inclusive UTC days: ``decided_from`` 00:00 to ``decided_to`` 24:00;
- every filter is a plain condition (indexes ``ix_refunds_decided``, ``ix_refunds_order``,
  ``ix_refunds_customer``, ``ix_return_items_sku``); the count and the page are two statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, Float, and_, cast, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from hub.access.permissions import Principal
from hub.fleet.stores import in_scope
from hub.refunds.states import RefundState
from hub.storage.money import money_json
from hub.storage.tables.core import refunds, return_items, returns

DECIDED = (
    RefundState.APPROVED.value,
    RefundState.REJECTED.value,
    RefundState.SUBMITTED.value,
    RefundState.CONFIRMED.value,
    RefundState.SETTLED.value,
    RefundState.FAILED.value,
)
Outcome = Literal["approved", "rejected"]
COLUMNS = (
    refunds.c.store_id,
    refunds.c.refund_id,
    refunds.c.return_id,
    returns.c.rma_id,
    refunds.c.order_id,
    refunds.c.amount,
    refunds.c.currency,
    refunds.c.base_amount,
    refunds.c.base_currency,
    refunds.c.channel,
    refunds.c.marketplace_id,
    refunds.c.state,
    refunds.c.outcome,
    refunds.c.approval_level,
    refunds.c.requested_by,
    refunds.c.requested_at,
    refunds.c.decided_by,
    refunds.c.decided_at,
    refunds.c.decision_reason,
    refunds.c.policy_version,
)


@dataclass(frozen=True)
class DecidedFilter:
    """What the desk searches for (all optional but paging)."""

    order_id: str | None = None
    return_code: str | None = None
    customer_key: str | None = None
    store: str | None = None
    sku: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    currency: str | None = None
    decided_from: date | None = None
    decided_to: date | None = None
    outcome: Outcome | None = None
    state: str | None = None
    limit: int = 25
    offset: int = 0


def _day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def conditions(
    principal: Principal, f: DecidedFilter, dialect: str = "postgresql"
) -> list[ColumnElement[bool]]:
    """The WHERE clause of the decided view for this caller and filter (``dialect``: the
    database's, for the amount range)."""
    where = [refunds.c.state.in_(DECIDED), in_scope(principal.scope, refunds.c.store_id)]
    if f.outcome == "rejected":
        where.append(refunds.c.state == RefundState.REJECTED.value)
    elif f.outcome == "approved":
        where.append(refunds.c.state != RefundState.REJECTED.value)
    if f.state:
        where.append(refunds.c.state == f.state)
    if f.order_id:
        where.append(refunds.c.order_id == f.order_id)
    if f.return_code:
        where.append(or_(refunds.c.return_id == f.return_code, returns.c.rma_id == f.return_code))
    if f.customer_key:
        where.append(refunds.c.customer_key == f.customer_key)
    if f.store:
        where.append(refunds.c.store_id == f.store)
    if f.sku:
        where.append(exists().where(and_(return_items.c.store_id == refunds.c.store_id,
                                         return_items.c.return_id == refunds.c.return_id,
                                         return_items.c.sku == f.sku)))
    if f.currency:
        where.append(refunds.c.currency == f.currency)
    amount: Any = refunds.c.amount if f.currency else refunds.c.base_amount
    for bound, above in ((f.min_amount, True), (f.max_amount, False)):
        if bound is None:
            continue
        if dialect == "sqlite":
            column, value = cast(amount, Float), cast(str(bound), Float)
            where.append(column >= value if above else column <= value)
        else:
            where.append(amount >= bound if above else amount <= bound)
    if f.decided_from is not None:
        where.append(refunds.c.decided_at >= _day(f.decided_from))
    if f.decided_to is not None:
        where.append(refunds.c.decided_at < _day(f.decided_to + timedelta(days=1)))
    return where


def _joined() -> Any:
    return refunds.join(returns, and_(returns.c.store_id == refunds.c.store_id,
                                      returns.c.return_id == refunds.c.return_id))


def page(
    conn: Connection, principal: Principal, f: DecidedFilter
) -> tuple[list[dict[str, Any]], int]:
    """One page of decided refunds and the number that match."""
    where = conditions(principal, f, conn.dialect.name)
    total = conn.execute(select(func.count()).select_from(_joined()).where(*where)).scalar_one()
    rows = conn.execute(
        select(*COLUMNS)
        .select_from(_joined())
        .where(*where)
        .order_by(refunds.c.decided_at.desc().nulls_last(), refunds.c.store_id,
                  refunds.c.refund_id)
        .limit(f.limit)
        .offset(f.offset)
    )
    return [item(dict(r._mapping)) for r in rows], int(total)


def item(row: dict[str, Any]) -> dict[str, Any]:
    """A decided row in the API's shape."""
    row["amount"] = money_json(row["amount"], row.pop("currency"))
    base, currency = row.pop("base_amount"), row.pop("base_currency")
    row["base_amount"] = money_json(base, currency) if base is not None and currency else None
    row["manual_review"] = row["outcome"] == "manual_review"
    return row
