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
- POS sales at the entity's stores: the ``pos_sale`` stock moves the edges sent
  (``stock.moved``), dated by their move; the hub learns only SKU and quantity of them, so their
  amount, VAT and base columns stay empty (``Fact.gross`` None) — none is invented;
- where a sale is taxed (``Fact.country``, ``Fact.basis``): an Amazon sale, refund or return in
  the buyer's ship-to country of its order (``amazon_orders.ship_country``, basis ``ship_to``),
  the marketplace's country when the order has none (basis ``marketplace``: assumed), a store's
  own sale or refund in the entity's country (basis ``store``); OSS when the entity files it and
  the country is another EU member state (``Entity.is_oss``);
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
from hub.finance.exports.facts import Basis, Fact, Period
from hub.finance.fx import Crossed
from hub.finance.fx_amounts import Converted, RateOf, convert, quantum
from hub.finance.fx_amounts_store import REFUND_KIND, convert_pending
from hub.finance.fx_rates import FxBook
from hub.storage.engine import reading
from hub.storage.tables.amazon import amazon_orders, amazon_returns
from hub.storage.tables.core import return_items, returns
from hub.storage.tables.finance_fx import fx_amounts
from hub.storage.tables.inventory import stock_moves
from protocol import MoveReason

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
        *_pos_sales(conn, entity, period),
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
    basis: Basis = "store",
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
        basis,
    )


def destination(entity: Entity, market: str | None, ship_to: str | None) -> tuple[str, Basis]:
    """Where an Amazon sale of ``market`` shipped to ``ship_to`` is taxed (module rules)."""
    if ship_to:
        return ship_to, "ship_to"
    if market and market in entity.marketplaces:
        return entity.marketplaces[market], "marketplace"
    return entity.country, "store"


def _ship_to(order_id: Any, market: Any) -> Any:
    """The ship-to country of the order ``order_id`` of ``market`` (a scalar subquery)."""
    o = amazon_orders
    return (
        select(o.c.ship_country)
        .where(o.c.order_id == order_id, o.c.marketplace_id == market)
        .limit(1)
        .scalar_subquery()
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
    taxes: dict[str, tuple[Decimal | None, bool]] = {}
    # 200,000 lines a month: the timestamp and the items are read raw (no per-row type
    # processing), which halves the time the export takes
    query = select(
        o.c.order_id,
        o.c.marketplace_id,
        type_coerce(o.c.purchased_at, String).label("purchased_at"),
        o.c.status,
        type_coerce(o.c["items"], Text).label("items"),
        o.c.ship_country,
    ).where(
        o.c.marketplace_id.in_(list(entity.marketplaces)),
        o.c.purchased_at >= start,
        o.c.purchased_at < end,
    )
    for order_id, market, purchased, status, raw, ship_to in conn.execute(query):
        if "CANCEL" in status.upper():
            continue
        day = _utc_day(purchased, days)
        country, basis = destination(entity, market, ship_to)
        if country not in taxes:
            taxes[country] = (entity.rate(country), entity.is_oss(country))
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
                basis,
            )


def _pos_sales(conn: Connection, entity: Entity, period: Period) -> Iterator[Fact]:
    m = stock_moves
    start, end = _span(period)
    query = select(
        m.c.store_id, m.c.move_id, m.c.pos_transaction_id, m.c.sku, m.c.quantity, m.c.at
    ).where(
        m.c.reason == MoveReason.POS_SALE.value,
        m.c.store_id.in_(list(entity.stores)),
        m.c.at >= start,
        m.c.at < end,
    )
    for row in conn.execute(query):
        transaction = row.pos_transaction_id or row.move_id
        yield Fact(
            "sale",
            row.at.astimezone(UTC).date(),
            f"{row.store_id}/{transaction}",
            row.move_id,
            None,
            row.store_id,
            entity.country,
            row.sku,
            row.quantity,
            None,
            "",
            entity.rate(entity.country),
            False,
            None,
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
        _ship_to(f.c.order_id, f.c.marketplace_id).label("ship_to"),
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
        country, basis = destination(entity, market, row.ship_to)
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
            basis,
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
        select(a, _ship_to(a.c.order_id, a.c.marketplace_id).label("ship_to")).where(
            a.c.marketplace_id.in_(list(entity.marketplaces)),
            a.c.requested_at >= start,
            a.c.requested_at < end,
        )
    ):
        day = row.requested_at.date()
        gross = -_exact(row.order_amount or 0, row.currency)
        country, basis = destination(entity, row.marketplace_id, row.ship_to)
        yield _fact(
            entity,
            "return",
            day,
            row.rma_id,
            row.sku,
            row.order_id,
            row.marketplace_id,
            country,
            row.sku,
            row.quantity,
            gross,
            row.currency,
            convert(gross, row.currency, entity.base_currency, day, book),
            basis,
        )
