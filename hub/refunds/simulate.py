"""Run a draft policy over the refunds of the last N days, before publishing it.

Rules:
- the requests are rebuilt from the database as the ingest builds them
  (``hub.refunds.decisions.requests_of``): amount, channel, marketplace, grade, mismatch, items
  total,
  the items' categories and opened flags, the store's sale date; not the synced Amazon orders or
  the risk flags (the simulation compares policies, and both see the same requests);
- each request's history is the same customer's other refunds requested before it (not
  rejected);
- both the active policy and the draft decide every request at the same ``now``
  (``hub.policy.simulate``); money is summed in the draft's base currency;
- the report: counts, the from → to matrix with amounts, the money whose decision changes
  (``money_moved``), the totals per outcome before and after, and a few examples with both
  decisions' reasons.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, select

from hub.policy import (
    CompiledPolicy,
    Decision,
    PriorRefund,
    RefundRequest,
    SimulationReport,
    compile_policy,
    default_policy,
    simulate,
)
from hub.policy import store as policy_store
from hub.refunds.decisions import ItemFacts, RefundFacts, lines_facts, requests_of
from hub.storage.money import money_json, money_of
from hub.storage.tables.core import refunds, return_items, returns
from protocol import Channel, Money, format_utc

Key = tuple[str, str]
JOIN = and_(returns.c.store_id == refunds.c.store_id, returns.c.return_id == refunds.c.return_id)


def _lines(conn: Connection, since: datetime) -> tuple[dict[Key, Money | None],
                                                      dict[Key, tuple[ItemFacts, ...]]]:
    rows = conn.execute(
        select(
            return_items.c.store_id,
            return_items.c.return_id,
            return_items.c.unit_price,
            return_items.c.quantity,
            return_items.c.currency,
            return_items.c.category,
            return_items.c.opened,
        ).order_by(return_items.c.line_no).where(
            return_items.c.return_id.in_(
                select(refunds.c.return_id).where(refunds.c.requested_at >= since)
            )
        )
    )
    lines: dict[Key, list[Any]] = defaultdict(list)
    for r in rows:
        lines[(r.store_id, r.return_id)].append(r._mapping)
    facts = {key: lines_facts(items) for key, items in lines.items()}
    return ({key: paid for key, (paid, _) in facts.items()},
            {key: items for key, (_, items) in facts.items()})


def _history(conn: Connection, customers: set[str]) -> dict[str, list[tuple[Key, PriorRefund]]]:
    history: dict[str, list[tuple[Key, PriorRefund]]] = defaultdict(list)
    keys = sorted(customers)
    for start in range(0, len(keys), 500):
        rows = conn.execute(
            select(
                refunds.c.store_id,
                refunds.c.refund_id,
                refunds.c.customer_key,
                refunds.c.requested_at,
                refunds.c.amount,
                refunds.c.currency,
            ).where(
                refunds.c.customer_key.in_(keys[start : start + 500]), refunds.c.state != "rejected"
            )
        )
        for r in rows:
            history[r.customer_key].append(
                (
                    (r.store_id, r.refund_id),
                    PriorRefund(r.requested_at, money_of(r.amount, r.currency)),
                )
            )
    return history


def requests_since(
    conn: Connection, since: datetime
) -> list[tuple[tuple[RefundRequest, ...], list[PriorRefund]]]:
    """Every refund requested since ``since``, as policy requests with their history."""
    rows = conn.execute(
        select(
            refunds.c.store_id,
            refunds.c.refund_id,
            refunds.c.return_id,
            refunds.c.amount,
            refunds.c.currency,
            refunds.c.channel,
            refunds.c.marketplace_id,
            refunds.c.requested_at,
            refunds.c.customer_key,
            returns.c.marketplace_id.label("return_market"),
            returns.c.grade,
            returns.c.mismatch,
            returns.c.sold_at,
        )
        .join(returns, JOIN)
        .where(refunds.c.requested_at >= since)
        .order_by(refunds.c.requested_at, refunds.c.store_id, refunds.c.refund_id)
    ).all()
    paid, items = _lines(conn, since)
    history = _history(conn, {r.customer_key for r in rows if r.customer_key})
    out = []
    for r in rows:
        facts = RefundFacts(
            r.store_id,
            r.refund_id,
            money_of(r.amount, r.currency),
            Channel(r.channel),
            r.marketplace_id or r.return_market,
            r.requested_at,
            r.grade,
            bool(r.mismatch),
            paid.get((r.store_id, r.return_id)),
            r.customer_key,
            ordered_at=r.sold_at,
            items=items.get((r.store_id, r.return_id), ()),
        )
        prior = [
            p
            for key, p in history.get(r.customer_key or "", [])
            if key != (r.store_id, r.refund_id) and p.at < r.requested_at
        ]
        out.append((requests_of(facts), prior))
    return out


def run(
    conn: Connection, draft_text: str, days: int, now: datetime, examples: int = 3
) -> dict[str, Any]:
    """Simulate ``draft_text`` against the active policy over the last ``days`` days."""
    draft = policy_store.compile_text(draft_text)
    active = policy_store.active(conn)
    current = active.compiled if active else compile_policy(default_policy())
    since = now - timedelta(days=days)
    report = simulate(draft, current, requests_since(conn, since), now, examples)
    return report_json(report, current, draft, days, since)


def report_json(
    report: SimulationReport,
    current: CompiledPolicy,
    draft: CompiledPolicy,
    days: int,
    since: datetime,
) -> dict[str, Any]:
    """The report in the API's shape (money as text with its currency)."""
    cur = report.base_currency

    def money(amount: Decimal) -> dict[str, str]:
        return money_json(amount, cur)

    return {
        "current_version": current.version,
        "draft_version": draft.version,
        "days": days,
        "since": format_utc(since),
        "base_currency": cur,
        "total": report.total,
        "changed": report.changed,
        "timing_changed": report.timing_changed,
        "unpriced": report.unpriced,
        "money_moved": money(sum((c.amount for c in report.changes), Decimal(0))),
        "matrix": [
            {"from": c.before, "to": c.after, "count": c.count, "amount": money(c.amount)}
            for c in report.changes
        ],
        "before": _totals(report.before, money),
        "after": _totals(report.after, money),
        "examples": [_example(e.before, e.after) for c in report.changes for e in c.examples],
    }


def _totals(totals: Iterable[Any], money: Any) -> list[dict[str, Any]]:
    return [{"label": t.label, "count": t.count, "amount": money(t.amount)} for t in totals]


def _example(before: Decision, after: Decision) -> dict[str, Any]:
    return {
        "refund": before.refund_id,
        "from": before.label,
        "to": after.label,
        "amount": money_json(after.base_amount, after.base_currency)
        if after.base_amount is not None
        else None,
        "reasons_before": list(before.reasons()),
        "reasons_after": list(after.reasons()),
    }
