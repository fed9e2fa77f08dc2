"""Stored base-currency amounts: the conversion pass over refunds and settlement lines, and the
FX gains it makes possible.

Rules:
- ``convert_pending`` converts, per entity of the active entities document, every refund of its
  stores and marketplaces that money was or will be paid for (approved, submitted, confirmed,
  settled; on the day it was decided, else requested) and every settlement line of its
  marketplaces (on its posted day, else the report's deposit, end or first-seen day) that has
  no ``fx_amounts`` row or a row without a rate yet; an anti-join, so it is idempotent and runs
  on demand (the exports and the FX report call it first; ``acorn-hub finance fx convert``);
  each batch is one transaction with one audit entry (``fx_amounts.converted``: entity, kind,
  rows, rows still without a rate);
- rates come from ``hub.finance.fx_rates.FxBook`` (the imported and fetched ECB quotes, and the
  bundled history unless ``use_bundle`` is off);
- ``settled`` pairs each converted refund with an Amazon order id to the first settlement
  ``Refund`` line of that order in the same currency (its posted day's rate) for the FX gain.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.sql import Select

from hub.finance import entities as entities_doc
from hub.finance.entities import Entity
from hub.finance.fx_amounts import Converted, Settled, convert, quantum
from hub.finance.fx_rates import FxBook
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import reading, writing
from hub.storage.tables.amazon import amazon_settlement_lines, amazon_settlement_reports
from hub.storage.tables.core import refunds
from hub.storage.tables.finance_fx import fx_amounts

ACTION = "fx_amounts.converted"
SYSTEM = ("system:fx-amounts", "system")
PAID = ("approved", "submitted", "confirmed", "settled")
BATCH = 2000
REFUND_KIND, SETTLEMENT_KIND = "refund", "settlement"


def _missing(kind: str, ref: ColumnElement[str]) -> tuple[ColumnElement[bool], Any]:
    joined = and_(fx_amounts.c.kind == kind, fx_amounts.c.ref == ref)
    return joined, or_(fx_amounts.c.kind.is_(None), fx_amounts.c.base_amount.is_(None))


Query = tuple[Select[Any], tuple[ColumnElement[Any], ...]]  # the query and its key (indexed)


def _refunds_query(entity: Entity) -> Query:
    ref = refunds.c.store_id + "/" + refunds.c.refund_id
    joined, pending = _missing(REFUND_KIND, ref)
    owned = or_(
        refunds.c.marketplace_id.in_(list(entity.marketplaces)),
        and_(refunds.c.marketplace_id.is_(None), refunds.c.store_id.in_(entity.stores)),
    )
    return (
        select(
            ref.label("ref"),
            refunds.c.order_id,
            refunds.c.amount,
            refunds.c.currency,
            func.coalesce(refunds.c.decided_at, refunds.c.requested_at).label("at"),
            refunds.c.channel.label("detail"),
            refunds.c.marketplace_id,
            fx_amounts.c.kind.label("known"),
        )
        .select_from(refunds.outerjoin(fx_amounts, joined))
        .where(pending, owned, refunds.c.state.in_(PAID)),
        (refunds.c.store_id, refunds.c.refund_id),
    )


def _lines_query(entity: Entity) -> Query:
    lines, reports = amazon_settlement_lines, amazon_settlement_reports
    ref = (
        lines.c.account
        + "/"
        + lines.c.report_id
        + "/"
        + func.cast(lines.c.line_no, fx_amounts.c.ref.type)
    )
    joined, pending = _missing(SETTLEMENT_KIND, ref)
    at = func.coalesce(
        lines.c.posted_at, reports.c.deposit_at, reports.c.end_at, reports.c.first_seen_at
    )
    source = lines.join(
        reports,
        and_(reports.c.account == lines.c.account, reports.c.report_id == lines.c.report_id),
    )
    return (
        select(
            ref.label("ref"),
            lines.c.order_id,
            lines.c.amount,
            lines.c.currency,
            at.label("at"),
            lines.c.transaction_type.label("detail"),
            reports.c.marketplace_id,
            fx_amounts.c.kind.label("known"),
        )
        .select_from(source.outerjoin(fx_amounts, joined))
        .where(pending, reports.c.marketplace_id.in_(list(entity.marketplaces))),
        (lines.c.account, lines.c.report_id, lines.c.line_no),
    )


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).date()
    if isinstance(value, str):  # SQLite's coalesce of timestamps comes back as text
        return datetime.fromisoformat(value).date()
    return value  # type: ignore[no-any-return]


def _row(
    kind: str, entity: Entity, raw: Any, done: Converted | None, now: datetime
) -> dict[str, Any]:
    return {
        "kind": kind,
        "ref": raw.ref,
        "entity": entity.id,
        "day": _day(raw.at),
        "order_id": raw.order_id or None,
        "marketplace_id": raw.marketplace_id,
        "detail": (raw.detail or "")[:60],
        "amount": Decimal(raw.amount),
        "currency": raw.currency,
        "base_currency": entity.base_currency,
        "base_amount": None if done is None else done.base_amount,
        "rate": None if done is None else format(done.rate, "f"),
        "rate_day": None if done is None else done.rate_day,
        "rate_source": None if done is None else done.source[:300],
        "converted_at": now,
    }


def _batches(engine: Engine, query: Query) -> Iterator[Sequence[Any]]:
    select_, key = query
    paged = select_.add_columns(*(c.label(f"_key{i}") for i, c in enumerate(key)))
    last: tuple[Any, ...] | None = None
    while True:  # keyset pages on the source's key: a row left without a rate is read once
        page = paged if last is None else paged.where(tuple_(*key) > tuple_(*last))
        with reading(engine) as conn:
            rows = conn.execute(page.order_by(*key).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = tuple(getattr(rows[-1], f"_key{i}") for i in range(len(key)))
        if len(rows) < BATCH:
            return


def pending(engine: Engine) -> int:
    """How many amounts ``convert_pending`` would convert now (for a progress bar)."""
    with reading(engine) as conn:
        document = entities_doc.active(conn)
        total = 0
        for entity in document.entities:
            for query, _ref in (_refunds_query(entity), _lines_query(entity)):
                total += conn.scalar(select(func.count()).select_from(query.subquery())) or 0
    return total


def convert_pending(
    engine: Engine,
    use_bundle: bool = True,
    actor: tuple[str, str] = SYSTEM,
    progress: Callable[[int], None] | None = None,
) -> Counter[str]:
    """Convert what has no base amount yet (see the module rules); rows per kind written."""
    with reading(engine) as conn:
        document = entities_doc.active(conn)
    done: Counter[str] = Counter()
    for entity in document.entities:
        for kind, query in (
            (REFUND_KIND, _refunds_query(entity)),
            (SETTLEMENT_KIND, _lines_query(entity)),
        ):
            for rows in _batches(engine, query):
                done[kind] += _write(engine, kind, entity, rows, use_bundle, actor)
                if progress:
                    progress(len(rows))
    return done


def _write(
    engine: Engine,
    kind: str,
    entity: Entity,
    rows: Sequence[Any],
    use_bundle: bool,
    actor: tuple[str, str],
) -> int:
    with writing(engine) as tx:
        book = FxBook(tx.conn, use_bundle)
        made = [
            _row(
                kind,
                entity,
                r,
                convert(Decimal(r.amount), r.currency, entity.base_currency, _day(r.at), book.rate),
                tx.now,
            )
            for r in rows
        ]
        new = [m for m, r in zip(made, rows, strict=True) if r.known is None]
        again = [m for m, r in zip(made, rows, strict=True) if r.known is not None]
        if new:
            tx.conn.execute(fx_amounts.insert(), new)
        for m in again:
            tx.conn.execute(
                update(fx_amounts)
                .where(fx_amounts.c.kind == kind, fx_amounts.c.ref == m["ref"])
                .values(m)
            )
        missing = sum(1 for m in made if m["base_amount"] is None)
        tx.audit(
            AuditDraft(
                actor[0],
                actor[1],
                ACTION,
                "fx_amounts",
                f"{entity.id}/{kind}",
                after={
                    "entity": entity.id,
                    "kind": kind,
                    "rows": len(made),
                    "without_rate": missing,
                },
            )
        )
    return len(made)


def settled(
    conn: Connection,
    entity: str | None = None,
    month_from: str | None = None,
    month_to: str | None = None,
) -> list[Settled]:
    """Converted refunds paired with the settlement that paid them (see the module rules),
    settled within the months given (``YYYY-MM``, inclusive)."""
    f = fx_amounts
    where: list[ColumnElement[bool]] = [f.c.base_amount.is_not(None), f.c.order_id.is_not(None)]
    if entity is not None:
        where.append(f.c.entity == entity)
    first: dict[tuple[str, str, str], tuple[date, Decimal]] = {}
    for row in conn.execute(
        select(f.c.entity, f.c.order_id, f.c.currency, f.c.day, f.c.rate)
        .where(*where, f.c.kind == SETTLEMENT_KIND, f.c.detail == "Refund")
        .order_by(f.c.day)
    ):
        first.setdefault((row.entity, row.order_id, row.currency), (row.day, Decimal(row.rate)))
    out = []
    for row in conn.execute(select(f).where(*where, f.c.kind == REFUND_KIND).order_by(f.c.ref)):
        paid = first.get((row.entity, row.order_id, row.currency))
        if paid is None:
            continue
        month = paid[0].strftime("%Y-%m")
        if (month_from and month < month_from) or (month_to and month > month_to):
            continue
        out.append(
            Settled(
                row.ref,
                row.order_id,
                Decimal(row.amount).quantize(quantum(row.currency)),
                row.currency,
                row.base_currency,
                row.day,
                Decimal(row.rate),
                paid[0],
                paid[1],
            )
        )
    return out


def amounts(conn: Connection, entity: str, kind: str, first: date, last: date) -> list[Any]:
    """The stored rows of ``entity`` and ``kind`` dated ``first`` to ``last``, by day."""
    f = fx_amounts
    return list(
        conn.execute(
            select(f)
            .where(f.c.entity == entity, f.c.kind == kind, f.c.day >= first, f.c.day <= last)
            .order_by(f.c.day, f.c.ref)
        )
    )
