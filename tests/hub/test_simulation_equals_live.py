"""Simulating the active policy over recent history gives, refund by refund, the live decisions.

History is seeded the way it really arrives: node events through the hub's ingest batch code on a
real database (SQLite and PostgreSQL), Amazon orders stored the way the orders sync stores them
(order dates, promised deliveries, buyer keys), risk flags raised by a person on an order and on a
customer, inspections before and after the refund request, several refunds of one buyer over
several batches (history, a rejected one among them), POS sales with sale dates and categories,
and a refund asked for at the hub. The simulation then replays the ACTIVE policy over the period
and must reach exactly what the ingest decided: the next state, the outcome, the approval level,
every rule fired and every reason given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from hub.access.permissions import Principal, Role
from hub.access.users import Actor
from hub.policy import store as policy_store
from hub.refunds import simulate
from hub.refunds.requests import request_refund
from hub.risk.flags import flag
from hub.storage.engine import reading
from hub.storage.tables.amazon import amazon_orders
from hub.storage.tables.core import refunds
from protocol import (
    Channel,
    Envelope,
    Grade,
    InspectionRecorded,
    Money,
    RefundRequested,
    ReturnItem,
    ReturnReceived,
    make_envelope,
    utc_now,
)
from tests.hub.helpers import ingest, sync_order

COM = "ATVPDKIKX0DER"  # Amazon.com in the default policy: a 30-day window
PERIOD_DAYS = 25
OFFICER = Actor("fin-1", "finance")


@dataclass
class Node:
    """One store node's event stream (contiguous seqs), in the shapes a counter sends."""

    store: str
    now: datetime
    seq: int = 0
    events: list[Envelope] = field(default_factory=list)

    def _add(self, body: Any) -> None:
        self.seq += 1
        self.events.append(make_envelope(self.store, "n1", self.seq, body))

    def days(self, n: float) -> datetime:
        return self.now - timedelta(days=n)

    def sale(self, ident: str, channel: Channel, days_ago: float, items: list[ReturnItem],
             order: str | None = None, market: str | None = None,
             sold_days_ago: float | None = None) -> None:
        self._add(ReturnReceived(
            return_id=f"R{ident}", channel=channel, reason="changed mind", items=items,
            order_id=order, marketplace_id=market, received_at=self.days(days_ago),
            sold_at=self.days(sold_days_ago) if sold_days_ago is not None else None))

    def inspect(self, ident: str, days_ago: float, grade: Grade = Grade.GOOD) -> None:
        self._add(InspectionRecorded(return_id=f"R{ident}", grade=grade,
                                     inspected_at=self.days(days_ago)))

    def refund(self, ident: str, channel: Channel, days_ago: float, amount: Money,
               order: str | None = None, market: str | None = None) -> None:
        self._add(RefundRequested(
            refund_id=f"F{ident}", return_id=f"R{ident}", amount=amount, channel=channel,
            order_id=order, marketplace_id=market, requested_by="clerk-1",
            requested_at=self.days(days_ago)))

    def amazon(self, ident: str, order: str, days_ago: float, grade: Grade | None = Grade.GOOD,
               inspect_first: bool = True) -> None:
        """An Amazon MFN return of ``order`` and its refund (inspected before or after)."""
        self.sale(ident, Channel.AMAZON_MFN, days_ago, [item("12.00")], order, COM)
        if grade is not None and inspect_first:
            self.inspect(ident, days_ago, grade)
        self.refund(ident, Channel.AMAZON_MFN, days_ago, Money.of("12.00", "USD"), order, COM)
        if grade is not None and not inspect_first:
            self.inspect(ident, days_ago - 0.5, grade)

    def flush(self, engine: Engine) -> None:
        """Send what was recorded since the last flush as one ingest batch."""
        result = ingest(engine, *self.events)
        assert result.applied == len(self.events), result
        self.events = []


def item(price: str, currency: str = "USD", category: str | None = None,
         opened: bool | None = None) -> ReturnItem:
    return ReturnItem(sku="SKU-1", quantity=1, unit_price=Money.of(price, currency),
                      category=category, opened=opened)


def buyer_key(engine: Engine, order_id: str) -> str:
    with reading(engine) as conn:
        key = conn.execute(select(amazon_orders.c.buyer_key)
                           .where(amazon_orders.c.order_id == order_id)).scalar_one()
    return f"buyer:{key}"


def seed_history(engine: Engine, now: datetime) -> None:
    """The seeded history (see the module docstring); batches in the order a hub gets them."""
    def order(order_id: str, purchased: float, email: str | None = None,
              delivered: float | None = None) -> None:
        sync_order(engine, order_id, now - timedelta(days=purchased), COM, email,
                   now - timedelta(days=delivered) if delivered is not None else None)

    buyer_a, buyer_b = "a.buyer@marketplace.amazon.com", "b.buyer@marketplace.amazon.com"
    order("111-0000001-0000001", 32, buyer_a)
    order("111-0000001-0000002", 9, buyer_a)
    order("111-0000001-0000003", 45, buyer_a)  # past the window by its order date
    order("111-0000001-0000004", 40, buyer_a, delivered=15)  # inside it by its delivery day
    for n in range(1, 5):
        order(f"111-0000002-000000{n}", 6, buyer_b)
    order("111-0000003-0000001", 4, "c.buyer@marketplace.amazon.com")
    order("111-0000004-0000001", 5, "d.buyer@marketplace.amazon.com")
    order("111-0000005-0000001", 5, "e.buyer@marketplace.amazon.com")
    order("111-0000006-0000001", 3, "f.buyer@marketplace.amazon.com")
    flag(engine, "order", "111-0000004-0000001", "chargeback on an earlier order", OFFICER)
    flag(engine, "customer", buyer_key(engine, "111-0000003-0000001"), "abuse report", OFFICER)
    flag(engine, "order", "B-0001", "stolen card", OFFICER)

    amazon = Node("s1", now)
    amazon.amazon("A1", "111-0000001-0000001", 30)  # before the period: history only
    amazon.flush(engine)
    amazon.amazon("A2", "111-0000001-0000002", 7, inspect_first=False)  # waits, then decided
    amazon.amazon("B1", "111-0000002-0000001", 5)
    amazon.amazon("B2", "111-0000002-0000002", 4)
    amazon.flush(engine)
    amazon.amazon("A3", "111-0000001-0000003", 3.5)  # rejected: it must not count for A4
    amazon.amazon("A4", "111-0000001-0000004", 3)
    amazon.amazon("B3", "111-0000002-0000003", 3)
    amazon.amazon("B4", "111-0000002-0000004", 2)  # the buyer's 4th in 30 days
    amazon.amazon("C1", "111-0000003-0000001", 1)  # the buyer is flagged
    amazon.amazon("D1", "111-0000004-0000001", 2)  # the order is flagged
    amazon.amazon("E1", "111-0000005-0000001", 2, Grade.DAMAGED_BY_CUSTOMER)
    amazon.amazon("G1", "111-0000006-0000001", 1, grade=None)  # still waits for its inspection
    amazon.flush(engine)

    pos = Node("s2", now)
    pos.sale("P1", Channel.POS, 1, [item("20.00")], order="B-0001", sold_days_ago=2)
    pos.refund("P1", Channel.POS, 1, Money.of("20.00", "USD"), order="B-0001")
    pos.sale("P2", Channel.POS, 20, [item("30.00")], order="B-0002", sold_days_ago=40)
    pos.refund("P2", Channel.POS, 20, Money.of("30.00", "USD"), order="B-0002")
    pos.sale("P3", Channel.POS, 2, [item("30.00", category="electronics", opened=True),
                                    item("25.00", category="home")], sold_days_ago=3)
    pos.refund("P3", Channel.POS, 2, Money.of("55.00", "USD"))
    pos.flush(engine)
    pos.inspect("P3", 1)  # the electronics refund waited for this
    pos.sale("P4", Channel.POS, 1, [item("40.00", "EUR")], sold_days_ago=5)
    pos.refund("P4", Channel.POS, 1, Money.of("40.00", "EUR"))
    pos.sale("P5", Channel.POS, 1, [item("15.00")], sold_days_ago=5)
    pos.refund("P5", Channel.POS, 1, Money.of("20.00", "USD"))  # more than was paid
    pos.sale("H1", Channel.POS, 1, [item("80.00")], sold_days_ago=2)
    pos.flush(engine)
    request_refund(engine, Principal("hq-1", Role.ADMIN), "RH1", "s2", None)


def rules_of(record: dict[str, Any] | None) -> list[tuple[Any, ...]] | None:
    """Every fired rule of a decision record: id, effect, level and sentence."""
    if record is None:
        return None
    return [(r["rule_id"], r["effect"], r["level"], r["sentence"]) for r in record["rules"]]


def live_rows(engine: Engine, since: datetime) -> dict[tuple[str, str], Any]:
    with reading(engine) as conn:
        rows = conn.execute(select(refunds).where(refunds.c.requested_at >= since)).all()
    return {(r.store_id, r.refund_id): r for r in rows}


def test_simulating_the_active_policy_gives_exactly_the_live_decisions(engine: Engine) -> None:
    now = utc_now()
    seed_history(engine, now)
    since = now - timedelta(days=PERIOD_DAYS)
    live = live_rows(engine, since)
    with reading(engine) as conn:
        active = policy_store.active(conn)
        assert active is not None
        replayed = simulate.replay(conn, since, active.compiled)

    assert set(replayed) == set(live)
    for key, row in live.items():
        verdict = replayed[key]
        decision = verdict.decision.as_record() if verdict.decision else None
        assert (verdict.state, verdict.outcome, verdict.level) == (
            row.state, row.outcome, row.approval_level), key
        assert rules_of(decision) == rules_of(row.decision), key
        assert (list(verdict.reasons), verdict.decided_by) == (row.reasons, row.decided_by), key
        if decision is not None:
            assert (decision["level"], decision["outcome"], decision["base_amount"]) == (
                row.decision["level"], row.decision["outcome"], row.decision["base_amount"]), key

    # The history holds what the old simulation got wrong, decided live as the rules say.
    fired = {key[1]: {rule[0] for rule in rules_of(row.decision) or []}
             for key, row in live.items()}
    assert "risk.high_risk_order" in fired["FC1"] & fired["FD1"] & fired["FP1"]
    assert live["s1", "FC1"].reasons[-1] == "customer flagged high-risk: abuse report"
    assert "window.expired" in fired["FA3"] and live["s1", "FA3"].state == "rejected"
    assert live["s1", "FA4"].state == "approved"  # the promised delivery opens its window
    assert "risk.frequent_refunder" in fired["FB4"] and "risk.frequent_refunder" not in fired["FA4"]
    assert live["s2", "FP2"].state == "approved"  # in the window when it was asked for
    assert "risk.grade" in fired["FE1"] and "risk.over_paid" in fired["FP5"]
    assert live["s1", "FG1"].state == "awaiting_inspection" and live["s1", "FG1"].decision is None
    assert live["s2", "FP3"].approval_level == 1 and "mixes categories" in live[
        "s2", "FP3"].reasons[-1]
    [(_, hub_id)] = [k for k, row in live.items() if row.origin == "hub"]
    assert live["s2", hub_id].state == "pending_approval"
    assert ("s1", "FA1") not in live  # before the period: history only


def test_the_report_of_the_active_policy_against_itself_changes_nothing(engine: Engine) -> None:
    now = utc_now()
    seed_history(engine, now)
    with reading(engine) as conn:
        active = policy_store.active(conn)
        assert active is not None
        report = simulate.run(conn, active.yaml, PERIOD_DAYS, now)
    live = live_rows(engine, now - timedelta(days=PERIOD_DAYS))
    assert (report["total"], report["changed"], report["timing_changed"]) == (len(live), 0, 0)
    assert report["before"] == report["after"]
    labels: dict[str, int] = {"auto_approve": 1}  # FG1, decided as it stands: no grade needed
    for row in live.values():
        if row.decision is not None:
            level = row.decision["level"]
            label = row.decision["outcome"] + (f":{level}" if level is not None else "")
            labels[label] = labels.get(label, 0) + 1
    assert {t["label"]: t["count"] for t in report["before"]} == labels
