"""Reason analytics: return lines by reason across a dimension, money refunded per reason, the
SKUs whose product-problem rate stands out, and the lines behind any bar.

Rules:
- counts are units (``quantity``) and lines; a dimension is one of ``DIMENSIONS``; a line with
  no store is ``(amazon)`` by store and ``(none)`` by region, a SKU not in the catalogue is
  ``(none)`` by category, a line with no marketplace is its channel by marketplace;
- filters narrow by month range (``YYYY-MM``, inclusive, UTC), store, region, marketplace, SKU,
  category and reason; a ``Scope`` that is not unlimited keeps the lines of its stores only;
- a return is counted once: an Amazon MFN line that a store took in (``counted`` false, kept by
  ``store.mark_taken_in``) counts as the store's line, with the counter's reason and refund;
- money refunded: store refunds in ``REFUNDED`` states (approved, or further on the way to the
  customer) under their return's reason, Amazon MFN lines' refunded amount under theirs; summed
  as exact ``Decimal`` per (reason, currency), never across currencies;
- sales for the stands-out test are the stores' POS sale moves and Amazon orders' items in the
  same months (``standout``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)

from hub.access.permissions import Scope
from hub.finance.reasons.classify import Source
from hub.finance.reasons.standout import ALPHA, MIN_RETURNS, SkuRate, standouts
from hub.finance.reasons.taxonomy import PRODUCT_PROBLEMS, TAXONOMY
from hub.storage.money import quantized
from hub.storage.tables.amazon import amazon_orders, amazon_returns
from hub.storage.tables.catalogue import catalogue_items
from hub.storage.tables.core import refunds, stores
from hub.storage.tables.inventory import stock_moves
from hub.storage.tables.reasons import return_reasons

T = return_reasons.c
DIMENSIONS: Final = ("reason", "sku", "category", "store", "region", "marketplace", "month")
REFUNDED: Final = ("approved", "submitted", "confirmed", "settled")
MAX_KEYS, MAX_LINES = 200, 1000


@dataclass(frozen=True, slots=True)
class Filters:
    """What the figures are narrowed to; ``None`` is any."""

    month_from: str | None = None
    month_to: str | None = None
    store: str | None = None
    region: str | None = None
    marketplace: str | None = None
    sku: str | None = None
    category: str | None = None
    reason: str | None = None
    scope: Scope = field(default_factory=Scope)


def in_scope(scope: Scope, store_column: Any) -> ColumnElement[bool]:
    """A SQL condition: the row's store is inside ``scope`` (a row with no store never is)."""
    checks: list[ColumnElement[bool]] = [store_column.is_not(None)]
    if scope.store is not None:
        checks.append(store_column == scope.store)
    if scope.region is not None or scope.city is not None:
        inner = select(stores.c.store_id)
        if scope.region is not None:
            inner = inner.where(stores.c.region == scope.region)
        if scope.city is not None:
            inner = inner.where(stores.c.city == scope.city)
        checks.append(store_column.in_(inner))
    return and_(*checks)


def key_of(dimension: str) -> ColumnElement[Any]:
    """The SQL expression a dimension groups by."""
    exprs: dict[str, ColumnElement[Any]] = {
        "reason": T.reason, "sku": T.sku, "month": T.month,
        "category": func.coalesce(catalogue_items.c.category, literal("(none)")),
        "store": func.coalesce(T.store_id, literal("(amazon)")),
        "region": func.coalesce(stores.c.region, literal("(none)")),
        "marketplace": func.coalesce(T.marketplace_id, T.channel),
    }
    return exprs[dimension]


def _from(f: Filters, *dimensions: str) -> Any:
    # the stores and the catalogue are joined only when a dimension or filter needs them: on a
    # million lines each join costs more than the grouping itself
    joined: Any = return_reasons
    if f.region is not None or "region" in dimensions:
        joined = joined.outerjoin(stores, stores.c.store_id == T.store_id)
    if f.category is not None or "category" in dimensions:
        joined = joined.outerjoin(catalogue_items, catalogue_items.c.sku == T.sku)
    return joined


def _where(query: Select[Any], f: Filters) -> Select[Any]:
    checks: list[ColumnElement[bool]] = []
    if f.month_from:
        checks.append(T.month >= f.month_from)
    if f.month_to:
        checks.append(T.month <= f.month_to)
    for dimension, value in (("store", f.store), ("region", f.region), ("sku", f.sku),
                             ("marketplace", f.marketplace), ("category", f.category),
                             ("reason", f.reason)):
        if value is not None:
            checks.append(key_of(dimension) == value)
    if not f.scope.unlimited:
        checks.append(in_scope(f.scope, T.store_id))
    checks.append(T.counted.is_(True))  # a return taken in at a store counts once (its line)
    return query.where(*checks)


# a dimension read through a joined table: grouped first by the line's own column, then joined
# (a few thousand groups instead of every line), then grouped by the joined attribute
VIA: Final[dict[str, tuple[Any, Any, Any]]] = {
    "category": (T.sku, catalogue_items, catalogue_items.c.category),
    "region": (T.store_id, stores, stores.c.region),
}
NONE_KEY: Final = {"category": "(none)", "region": "(none)"}


def breakdown(conn: Connection, dimension: str, f: Filters) -> list[dict[str, Any]]:
    """Per key of ``dimension``: units and lines, in total and per reason (largest first, at
    most ``MAX_KEYS``; by month: every month, oldest first)."""
    names = [f"r{i}" for i in range(len(TAXONOMY))]
    # one row per key, the reasons as columns: the database pivots and keeps the top keys
    sums = [func.sum(case((T.reason == reason, T.quantity), else_=0)).label(name)
            for name, reason in zip(names, TAXONOMY, strict=True)]
    if dimension in VIA:
        column, table, attribute = VIA[dimension]
        inner = _where(select(column.label("via"), func.sum(T.quantity).label("units"),
                              func.count().label("lines"), *sums)
                       .select_from(_from(f)), f).group_by(column).subquery()
        key: Any = func.coalesce(attribute, literal(NONE_KEY[dimension])).label("key")
        units: Any = func.sum(inner.c.units).label("units")
        query = (select(key, units, func.sum(inner.c.lines).label("lines"),
                        *(func.sum(inner.c[name]).label(name) for name in names))
                 .select_from(inner.outerjoin(table, table.c[column.name] == inner.c.via))
                 .group_by(key))
    else:
        key = key_of(dimension).label("key")
        units = func.sum(T.quantity).label("units")
        query = _where(select(key, units, func.count().label("lines"), *sums)
                       .select_from(_from(f, dimension)), f).group_by(key)
    if dimension == "month":
        query = query.order_by(key)
    else:
        query = query.order_by(units.desc(), key).limit(MAX_KEYS)
    return [{"key": str(row["key"]), "units": int(row["units"]), "lines": int(row["lines"]),
             "by_reason": {reason: int(row[name])
                           for name, reason in zip(names, TAXONOMY, strict=True) if row[name]}}
            for row in conn.execute(query).mappings()]


def lines(conn: Connection, dimension: str, key: str, f: Filters,
          limit: int = MAX_LINES) -> list[dict[str, Any]]:
    """The return lines behind one bar (``dimension`` = ``key``), newest first."""
    query = _where(select(T.source, T.line_key, T.store_id, T.return_id, T.line_no, T.account,
                          T.amazon_ref, T.order_id, T.channel, T.marketplace_id, T.sku,
                          T.quantity, T.occurred_at, T.raw_reason, T.reason, T.sub_reason,
                          T.method).select_from(_from(f, dimension)), f)
    query = query.where(key_of(dimension) == key).order_by(T.occurred_at.desc(), T.line_key)
    return [dict(row) for row in conn.execute(query.limit(limit)).mappings()]


def money(conn: Connection, f: Filters) -> list[dict[str, Any]]:
    """Money refunded per reason and currency (exact sums), largest first within a currency."""
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    per_return = _where(select(T.store_id, T.return_id, T.reason).distinct()
                        .select_from(_from(f)).where(T.source == Source.STORE.value), f).subquery()
    store_query = (select(per_return.c.reason, refunds.c.currency, refunds.c.amount)
                   .join_from(per_return, refunds, and_(
                       refunds.c.store_id == per_return.c.store_id,
                       refunds.c.return_id == per_return.c.return_id))
                   .where(refunds.c.state.in_(REFUNDED)))
    a = amazon_returns.c
    mfn_query = _where(select(T.reason, a.currency, a.refunded_amount).select_from(
        _from(f).join(amazon_returns, and_(T.account == a.account, T.amazon_ref == a.rma_id,
                                          T.sku == a.sku)))
        .where(T.source == Source.AMAZON_MFN.value, a.refunded_amount.is_not(None)), f)
    for query in (store_query, mfn_query):
        for reason, currency, amount in conn.execute(query):
            sums[(reason, currency)] += amount  # Decimal: summed here, exact on every database
    rows = [{"reason": r, "currency": c, "amount": quantized(a, c)} for (r, c), a in sums.items()]
    return sorted(rows, key=lambda e: (e["currency"], -e["amount"], e["reason"]))


def _month_range(f: Filters) -> tuple[datetime | None, datetime | None]:
    start = datetime.strptime(f.month_from, "%Y-%m").replace(tzinfo=UTC) if f.month_from else None
    end = None
    if f.month_to:
        year, month = map(int, f.month_to.split("-"))
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def sold(conn: Connection, f: Filters) -> dict[str, int]:
    """Units sold per SKU in the filter's months: POS sale moves and Amazon order items."""
    start, end = _month_range(f)
    out: dict[str, int] = defaultdict(int)
    m = stock_moves.c
    pos = select(m.sku, func.sum(m.quantity)).where(m.reason == "pos_sale").group_by(m.sku)
    pos = pos.where(*([m.at >= start] if start else []), *([m.at < end] if end else []))
    if not f.scope.unlimited:
        pos = pos.where(in_scope(f.scope, m.store_id))
    for sku, units in conn.execute(pos):
        out[sku] += int(units)
    if f.scope.unlimited:  # Amazon's orders belong to no store: an unlimited scope only
        o = amazon_orders.c
        orders = select(o["items"]).where(*([o.purchased_at >= start] if start else []),
                                       *([o.purchased_at < end] if end else []))
        for (items,) in conn.execute(orders):
            for item in items or []:
                if item.get("sku"):
                    out[str(item["sku"])] += int(item.get("quantity") or 0)
    return dict(out)


def rates(conn: Connection, f: Filters) -> tuple[float, list[SkuRate]]:
    """The chain's product-problem rate and each SKU's, with the stands-out verdict (over the
    filter's months and scope only: a rate is against the whole chain's)."""
    f = Filters(f.month_from, f.month_to, scope=f.scope)
    query = _where(select(T.sku, func.sum(T.quantity)).select_from(_from(f))
                   .where(or_(*(T.reason == r for r in sorted(PRODUCT_PROBLEMS))))
                   .group_by(T.sku), f)
    returned = {sku: int(units) for sku, units in conn.execute(query)}
    return standouts(sold(conn, f), returned)


def standouts_alpha() -> float:
    """The stands-out test's family-wise error rate."""
    return ALPHA


def standouts_min() -> int:
    """The fewest returns a SKU needs to stand out."""
    return MIN_RETURNS
