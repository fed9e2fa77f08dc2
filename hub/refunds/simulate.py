"""Run a policy over the refunds of the last N days: a draft before publishing it, or the
active one to replay what the hub decided.

Rules:
- each refund's facts and history come from ``hub.refunds.facts``, exactly as the ingest builds
  them: amount, channel, marketplace, grade, mismatch, items total, the items' categories and
  opened flags, the customer's other refunds (not rejected), the risk flags on the order and the
  customer, the synced Amazon order's date, promised delivery and buyer, the store's sale date;
- each refund is decided as of its request time (never later than the hub first stored it), as
  the live path decided it; ``replay`` gives, refund by refund, the ``Verdict`` of
  ``hub.refunds.decisions.judge`` (the one the ingest applies). With the active policy it is the
  live decision, save for what the hub learnt after deciding: a flag raised or cleared since, an
  order synced since, a refund of the same customer stored late or rejected by a person since, a
  re-inspection; and a store's offline approval, which the simulation does not see (the policy's
  own decision is replayed);
- the report: both the active policy and the draft decide every refund (one still waiting for
  its inspection is decided as it stands, without a grade: the draft may not wait); money is
  summed in the draft's base currency (``hub.policy.simulate``); it gives counts, the from -> to
  matrix with amounts, the money whose decision changes (``money_moved``), the totals per
  outcome before and after, and a few examples with both decisions' reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import Connection, and_, select

from hub.policy import (
    CompiledPolicy,
    Decision,
    PriorRefund,
    SimulationReport,
    compile_policy,
    default_policy,
    simulate,
)
from hub.policy import store as policy_store
from hub.refunds import facts
from hub.refunds.decisions import Verdict, judge, priced, requests_of
from hub.storage.money import money_json
from hub.storage.tables.core import refunds, returns
from protocol import Channel, format_utc

Key = tuple[str, str]
JOIN = and_(returns.c.store_id == refunds.c.store_id, returns.c.return_id == refunds.c.return_id)
RETURN_FACTS = ("order_id", "marketplace_id", "grade", "mismatch", "sold_at")


@dataclass(frozen=True)
class Case:
    """A refund as the simulation decides it: its facts and the customer's history."""

    facts: facts.RefundFacts
    prior: tuple[PriorRefund, ...]

    @property
    def key(self) -> Key:
        """(store_id, refund_id)."""
        return self.facts.store_id, self.facts.refund_id


def refunds_since(conn: Connection, since: datetime) -> list[Case]:
    """Every refund requested since ``since`` (oldest first), with its facts and history."""
    rows = conn.execute(
        select(refunds, *(returns.c[name].label(f"return_{name}") for name in RETURN_FACTS))
        .join(returns, JOIN)
        .where(refunds.c.requested_at >= since)
        .order_by(refunds.c.requested_at, refunds.c.store_id, refunds.c.refund_id)
    ).all()
    pairs = [(dict(r._mapping), {name: r._mapping[f"return_{name}"] for name in RETURN_FACTS})
             for r in rows]
    known = facts.load_known(conn, [
        facts.Asked(row["store_id"], row["return_id"], Channel(row["channel"]),
                    row["order_id"] or ret["order_id"],
                    row["marketplace_id"] or ret["marketplace_id"], row["customer_key"])
        for row, ret in pairs])
    out = []
    for row, ret in pairs:
        told = facts.refund_facts(row, ret, known.lines.get((row["store_id"], row["return_id"]),
                                                            []), known)
        out.append(Case(told, tuple(known.prior(told))))
    return out


def replay(conn: Connection, since: datetime, policy: CompiledPolicy) -> dict[Key, Verdict]:
    """Where ``policy`` leaves each refund requested since ``since`` (see the module rules)."""
    return {asked.key: judge(asked.facts, asked.prior, policy)
            for asked in refunds_since(conn, since)}


def run(
    conn: Connection, draft_text: str, days: int, now: datetime, examples: int = 3
) -> dict[str, Any]:
    """Simulate ``draft_text`` against the active policy over the last ``days`` days."""
    draft = policy_store.compile_text(draft_text)
    active = policy_store.active(conn)
    current = active.compiled if active else compile_policy(default_policy())
    since = now - timedelta(days=days)
    asked = [(requests_of(a.facts), a.prior, a.facts.requested_at, partial(priced, a.facts))
             for a in refunds_since(conn, since)]
    report = simulate(draft, current, asked, now, examples)
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
