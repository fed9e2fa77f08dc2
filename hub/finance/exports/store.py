"""The facts of an entity and a period, read from the hub's tables (the exports' one I/O
adapter).

Rules:
- sales: the items of the Amazon orders of the entity's marketplaces purchased in the period
  (UTC), cancelled orders and items without a price left out, converted on the purchase day;
- refunds: the entity's refunds with a stored base amount row (``fx_amounts``, kind ``refund``)
  dated in the period, with that row's rate, day and source (pending conversions are made
  first, unless ``convert_first`` is off);
- returned goods: the lines of the returns taken in at the entity's stores and the Amazon MFN
  returns of its marketplaces, in the period, at their price, converted on their day;
- a sale or refund of a marketplace is taxed in the marketplace's country (OSS when the entity
  says so), a store's in the entity's country;
- an unknown entity is an ``InputError`` on ``entity``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, String, Text, and_, select, type_coerce

from hub.errors import InputError
from hub.finance import entities as entities_doc
from hub.finance.entities import Entity
from hub.finance.exports.facts import Fact, Period
from hub.finance.fx import Crossed
from hub.finance.fx_amounts import Converted, RateOf, convert, quantum
from hub.finance.fx_amounts_store import REFUND_KIND, convert_pending
from hub.finance.fx_rates import FxBook
from hub.storage.engine import reading
from hub.storage.tables.amazon import amazon_orders, amazon_returns
from hub.storage.tables.core import return_items, returns
from hub.storage.tables.finance_fx import fx_amounts

_ORDER = {"sale": 0, "refund": 1, "return": 2}


def entity_of(conn: Connection, entity_id: str) -> Entity:
    """The active entity ``entity_id``; InputError when there is none."""
    document = entities_doc.active(conn)
    entity = document.get(entity_id)
    if entity is None:
        known = ", ".join(e.id for e in document.entities)
        raise InputError(f"no entity {entity_id!r}; the entities are {known}", "entity")
    return entity


def facts(
    engine: Engine,
    entity_id: str,
    period: Period,
    use_bundle: bool = True,
    convert_first: bool = True,
) -> tuple[Entity, list[Fact]]:
    """The entity and its facts in ``period``, by day, kind and document."""
    with reading(engine) as conn:
        entity_of(conn, entity_id)  # an unknown entity fails before any conversion
    if convert_first:
        convert_pending(engine, use_bundle)
    with reading(engine) as conn:
        return facts_in(conn, entity_id, period, use_bundle)


def facts_in(conn: Connection, entity_id: str, period: Period,
             use_bundle: bool = True) -> tuple[Entity, list[Fact]]:
    """``facts`` read through an open connection, as converted so far (nothing written)."""
    entity = entity_of(conn, entity_id)
    book = _rates(FxBook(conn, use_bundle))
    found = [
        *_sales(conn, entity, period, book),
        *_refunds(conn, entity, period),
        *_store_returns(conn, entity, period, book),
        *_amazon_returns(conn, entity, period, book),
    ]
    found.sort(key=lambda f: (f.day, _ORDER[f.kind], f.document, f.line))
    return entity, found


def _exact(value: Any, currency: str) -> Decimal:
    """A stored amount at its currency's scale (PostgreSQL's NUMERIC(19, 4) gives 12.0000)."""
    return Decimal(value).quantize(quantum(currency))


def _span(period: Period) -> tuple[datetime, datetime]:
    start = datetime.combine(period.first, time(), UTC)
    return start, datetime.combine(period.last + timedelta(days=1), time(), UTC)


def _fact(
    entity: Entity,
    kind: Any,
    day: date,
    document: str,
    line: str,
    order_id: str | None,
    source: str,
    country: str,
    sku: str,
    quantity: int,
    gross: Decimal,
    currency: str,
    base: Converted | None,
) -> Fact:
    return Fact(
        kind,
        day,
        document,
        line,
        order_id,
        source,
        country,
        sku,
        quantity,
        gross,
        currency,
        entity.rate(country),
        entity.is_oss(country),
        base,
    )


def _rates(book: FxBook) -> RateOf:
    """``book.rate`` remembered per currency, base and day (a month has a few dozen)."""
    seen: dict[tuple[str, str, date], Crossed | None] = {}

    def rate(currency: str, base: str, day: date) -> Crossed | None:
        key = (currency, base, day)
        if key not in seen:
            seen[key] = book.rate(currency, base, day)
        return seen[key]

    return rate


def _utc_day(value: Any, days: dict[str, date]) -> date:
    """The UTC day of a stored timestamp read without its type's processing: SQLite's text
    (naive UTC, ``2026-11-05 12:00:00.000000``) or PostgreSQL's aware datetime."""
    if isinstance(value, str):
        head = value[:10]
        if head not in days:
            days[head] = date.fromisoformat(head)
        return days[head]
    return value.astimezone(UTC).date()  # type: ignore[no-any-return]


def _sales(conn: Connection, entity: Entity, period: Period, book: RateOf) -> Iterator[Fact]:
    o = amazon_orders
    start, end = _span(period)
    days: dict[str, date] = {}
    taxes = {c: (entity.rate(c), entity.is_oss(c)) for c in entity.marketplaces.values()}
    # 200,000 lines a month: the timestamp and the items are read raw (no per-row type
    # processing), which halves the time the export takes
    query = select(
        o.c.order_id,
        o.c.marketplace_id,
        type_coerce(o.c.purchased_at, String).label("purchased_at"),
        o.c.status,
        type_coerce(o.c["items"], Text).label("items"),
    ).where(
        o.c.marketplace_id.in_(list(entity.marketplaces)),
        o.c.purchased_at >= start,
        o.c.purchased_at < end,
    )
    for order_id, market, purchased, status, raw in conn.execute(query):
        if "CANCEL" in status.upper():
            continue
        day = _utc_day(purchased, days)
        country = entity.marketplaces[market]
        rate, oss = taxes[country]
        for item in (json.loads(raw) if isinstance(raw, str) else raw) or []:
            price, currency = item.get("unit_price"), item.get("currency")
            if price is None or not currency:
                continue
            quantity = int(item["quantity"])
            gross = Decimal(price) * quantity
            yield Fact(
                "sale",
                day,
                order_id,
                str(item.get("order_item_id", "")),
                order_id,
                market,
                country,
                str(item.get("sku") or ""),
                quantity,
                gross,
                currency,
                rate,
                oss,
                convert(gross, currency, entity.base_currency, day, book),
            )


def _refunds(conn: Connection, entity: Entity, period: Period) -> Iterator[Fact]:
    f = fx_amounts
    columns = (
        f.c.ref,
        f.c.day,
        f.c.order_id,
        f.c.marketplace_id,
        f.c.amount,
        f.c.currency,
        f.c.base_amount,
        f.c.base_currency,
        f.c.rate,
        f.c.rate_day,
        f.c.rate_source,
    )
    for row in conn.execute(
        select(*columns).where(
            f.c.kind == REFUND_KIND,
            f.c.entity == entity.id,
            f.c.day >= period.first,
            f.c.day <= period.last,
        )
    ):
        market = row.marketplace_id
        country = entity.marketplaces.get(market, entity.country) if market else entity.country
        base = (
            None
            if row.base_amount is None
            else Converted(
                -_exact(row.base_amount, row.base_currency),
                row.base_currency,
                Decimal(row.rate),
                row.rate_day,
                row.rate_source,
            )
        )
        yield _fact(
            entity,
            "refund",
            row.day,
            row.ref,
            "",
            row.order_id,
            market or row.ref.split("/", 1)[0],
            country,
            "",
            1,
            -_exact(row.amount, row.currency),
            row.currency,
            base,
        )


def _store_returns(
    conn: Connection, entity: Entity, period: Period, book: RateOf
) -> Iterator[Fact]:
    rt, it = returns, return_items
    start, end = _span(period)
    joined = it.join(rt, and_(rt.c.store_id == it.c.store_id, rt.c.return_id == it.c.return_id))
    for row in conn.execute(
        select(it, rt.c.received_at, rt.c.order_id)
        .select_from(joined)
        .where(
            rt.c.store_id.in_(list(entity.stores)),
            rt.c.received_at >= start,
            rt.c.received_at < end,
        )
    ):
        day = row.received_at.date()
        gross = -_exact(row.unit_price, row.currency) * row.quantity
        yield _fact(
            entity,
            "return",
            day,
            f"{row.store_id}/{row.return_id}",
            str(row.line_no),
            row.order_id,
            row.store_id,
            entity.country,
            row.sku,
            row.quantity,
            gross,
            row.currency,
            convert(gross, row.currency, entity.base_currency, day, book),
        )


def _amazon_returns(
    conn: Connection, entity: Entity, period: Period, book: RateOf
) -> Iterator[Fact]:
    a = amazon_returns
    start, end = _span(period)
    for row in conn.execute(
        select(a).where(
            a.c.marketplace_id.in_(list(entity.marketplaces)),
            a.c.requested_at >= start,
            a.c.requested_at < end,
        )
    ):
        day = row.requested_at.date()
        gross = -_exact(row.order_amount or 0, row.currency)
        yield _fact(
            entity,
            "return",
            day,
            row.rma_id,
            row.sku,
            row.order_id,
            row.marketplace_id,
            entity.marketplaces[row.marketplace_id],
            row.sku,
            row.quantity,
            gross,
            row.currency,
            convert(gross, row.currency, entity.base_currency, day, book),
        )
