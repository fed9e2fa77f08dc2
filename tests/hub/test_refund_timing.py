"""When the money goes back: the policy's timing, enforced by the hub's ingest (issue 5).

Through the real batch code on SQLite and PostgreSQL, with the default policy:
- ``after_inspection`` (Amazon and web sales, POS electronics): the refund waits, the node is
  told ``awaiting_inspection``, and the inspection decides it with the grade;
- ``on_scan`` (POS): decided at once; ``after_approval`` (gift cards): a person approves;
- what the store recorded decides too: categories, opened, the sale date.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from hub.storage.audit_log import audit_log
from hub.storage.engine import reading
from hub.storage.tables.access import refund_rules
from hub.storage.tables.core import commands, refunds
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
from tests.hub.helpers import ingest

DE = "A1PA6795UKMFR9"  # Amazon.de: 30-day window, 14-day withdrawal, no opened software


def item(price: str = "12.00", category: str | None = None, opened: bool | None = None,
         sku: str = "SKU-1") -> ReturnItem:
    return ReturnItem(sku=sku, quantity=1, unit_price=Money.of(price, "EUR"), category=category,
                      opened=opened)


def received(seq: int, return_id: str, channel: Channel, items: list[ReturnItem],
             sold_days_ago: int | None = None, order_id: str | None = None,
             marketplace_id: str | None = None) -> Envelope:
    sold = utc_now() - timedelta(days=sold_days_ago) if sold_days_ago is not None else None
    return make_envelope("s1", "n1", seq, ReturnReceived(
        return_id=return_id, channel=channel, items=items, reason="changed mind",
        order_id=order_id, marketplace_id=marketplace_id, received_at=utc_now(), sold_at=sold))


def asked(seq: int, return_id: str, refund_id: str, channel: Channel, amount: str = "12.00",
          order_id: str | None = None, marketplace_id: str | None = None,
          offline_by: str | None = None) -> Envelope:
    return make_envelope("s1", "n1", seq, RefundRequested(
        refund_id=refund_id, return_id=return_id, amount=Money.of(amount, "EUR"),
        channel=channel, order_id=order_id, marketplace_id=marketplace_id,
        requested_by="clerk-1", requested_at=utc_now(), approved_offline_by=offline_by))


def inspected(seq: int, return_id: str, grade: Grade = Grade.LIKE_NEW) -> Envelope:
    return make_envelope("s1", "n1", seq, InspectionRecorded(
        return_id=return_id, grade=grade, inspected_at=utc_now()))


def refund(engine: Engine, refund_id: str) -> Any:
    with reading(engine) as conn:
        return conn.execute(select(refunds).where(refunds.c.refund_id == refund_id)).one()


def told(engine: Engine, refund_id: str) -> list[str]:
    """The outcomes the node was told for this refund, in order."""
    with reading(engine) as conn:
        rows = conn.execute(select(commands.c.body).where(commands.c.kind == "refund.decided")
                            .order_by(commands.c.seq)).all()
    return [r.body["outcome"] for r in rows if r.body["refund_id"] == refund_id]


def audited(engine: Engine, refund_id: str) -> list[str]:
    with reading(engine) as conn:
        rows = conn.execute(select(audit_log.c.action).where(
            audit_log.c.entity_id == f"s1/{refund_id}").order_by(audit_log.c.seq)).all()
    return [r.action for r in rows]


def indexed(engine: Engine, refund_id: str) -> set[str]:
    with reading(engine) as conn:
        rows = conn.execute(select(refund_rules.c.rule_id).where(
            refund_rules.c.refund_id == refund_id)).all()
    return {r.rule_id for r in rows}


def rule_ids(row: Any) -> list[str]:
    return [rule["rule_id"] for rule in row.decision["rules"]]


def test_an_amazon_refund_waits_for_its_inspection_then_the_policy_decides_it(
        engine: Engine) -> None:
    ingest(engine, received(1, "R1", Channel.AMAZON_MFN, [item()], order_id="111-1"),
           asked(2, "R1", "F1", Channel.AMAZON_MFN, order_id="111-1"))
    waiting = refund(engine, "F1")
    assert (waiting.state, waiting.outcome, waiting.decided_by, waiting.decision) == (
        "awaiting_inspection", "awaiting_inspection", None, None)
    assert waiting.reasons == ["refund after inspection (amazon_mfn / unknown): the policy "
                               "decides once the item's inspection is recorded"]
    assert told(engine, "F1") == ["awaiting_inspection"]
    assert indexed(engine, "F1") == set()

    ingest(engine, inspected(3, "R1"))
    done = refund(engine, "F1")
    assert (done.state, done.outcome, done.decided_by) == ("approved", "approved", "policy:auto")
    assert done.decided_at is not None and done.policy_version == 1
    assert told(engine, "F1") == ["awaiting_inspection", "approved"]
    assert audited(engine, "F1") == [
        "refund.requested", "refund.awaiting_inspection", "refund.decided"]
    assert indexed(engine, "F1") == {"tier.auto", "marketplace.default"}


def test_the_grade_found_at_inspection_counts(engine: Engine) -> None:
    ingest(engine, received(1, "R1", Channel.WEB, [item()]),
           asked(2, "R1", "F1", Channel.WEB),
           inspected(3, "R1", Grade.DAMAGED_BY_CUSTOMER))  # one batch: waits, then decided
    row = refund(engine, "F1")
    assert (row.state, row.outcome, row.approval_level) == ("pending_approval", "manual_review", 2)
    assert "risk.grade" in rule_ids(row)
    assert told(engine, "F1") == ["awaiting_inspection", "manual_review"]


def test_an_inspection_recorded_first_lets_the_policy_decide_at_once(engine: Engine) -> None:
    ingest(engine, received(1, "R1", Channel.AMAZON_MFN, [item()]), inspected(2, "R1"),
           asked(3, "R1", "F1", Channel.AMAZON_MFN))
    assert refund(engine, "F1").state == "approved"
    assert told(engine, "F1") == ["approved"]


def test_a_pos_sale_refunds_on_scan_but_pos_electronics_wait(engine: Engine) -> None:
    ingest(engine, received(1, "R1", Channel.POS, [item(category="toys")]),
           asked(2, "R1", "F1", Channel.POS),
           received(3, "R2", Channel.POS, [item(category="Electronics")]),
           asked(4, "R2", "F2", Channel.POS),
           # a refund the counter already paid out offline is decided at once: the money moved
           received(5, "R3", Channel.POS, [item(category="electronics")]),
           asked(6, "R3", "F3", Channel.POS, offline_by="mgr-1"))
    assert refund(engine, "F1").state == "approved"
    assert refund(engine, "F2").state == "awaiting_inspection"
    assert refund(engine, "F2").reasons[0].startswith("refund after inspection (pos / electronics)")
    assert refund(engine, "F3").state in ("approved", "pending_approval")  # never waiting


def test_a_gift_card_refund_needs_a_person_however_small(engine: Engine) -> None:
    ingest(engine, received(1, "R1", Channel.POS, [item("5.00", category="gift_card")]),
           asked(2, "R1", "F1", Channel.WEB, "5.00"))
    row = refund(engine, "F1")
    assert (row.state, row.outcome, row.approval_level) == ("pending_approval",
                                                           "pending_approval", 1)
    assert "timing.after_approval" in rule_ids(row)
    assert "timing.after_approval" in indexed(engine, "F1")  # the desk can filter by it


def test_the_sale_date_the_store_recorded_opens_and_closes_the_window(engine: Engine) -> None:
    ingest(engine, received(1, "R1", Channel.POS, [item()], sold_days_ago=45),
           asked(2, "R1", "F1", Channel.POS),
           received(3, "R2", Channel.POS, [item()], sold_days_ago=10),
           asked(4, "R2", "F2", Channel.POS))
    late, recent = refund(engine, "F1"), refund(engine, "F2")
    assert (late.state, "window.expired" in rule_ids(late)) == ("rejected", True)
    assert (recent.state, "window.expired" in rule_ids(recent)) == ("approved", False)


def test_opened_software_in_germany_after_the_withdrawal_period(engine: Engine) -> None:
    ingest(engine,
           received(1, "R1", Channel.WEB, [item(category="software", opened=True)],
                    sold_days_ago=20, marketplace_id=DE),
           asked(2, "R1", "F1", Channel.WEB, marketplace_id=DE),
           received(3, "R2", Channel.WEB, [item(category="software", opened=False)],
                    sold_days_ago=20, marketplace_id=DE),
           asked(4, "R2", "F2", Channel.WEB, marketplace_id=DE),
           inspected(5, "R1"), inspected(6, "R2"))
    opened, sealed = refund(engine, "F1"), refund(engine, "F2")
    assert (opened.state, "opened.excluded" in rule_ids(opened)) == ("rejected", True)
    assert (sealed.state, "opened.excluded" in rule_ids(sealed)) == ("approved", False)


def test_a_mixed_return_is_decided_by_its_strictest_item(engine: Engine) -> None:
    items = [item("30.00", category="toys", sku="SKU-T"),
             item("9.00", category="software", opened=True, sku="SKU-S")]
    ingest(engine, received(1, "R1", Channel.WEB, items, sold_days_ago=20, marketplace_id=DE),
           asked(2, "R1", "F1", Channel.WEB, "39.00", marketplace_id=DE), inspected(3, "R1"))
    row = refund(engine, "F1")
    assert row.state == "rejected" and "opened.excluded" in rule_ids(row)
    assert row.reasons[-1] == ("the return mixes categories (toys, software); the strictest "
                               "decision (software) stands for the whole refund")


def test_a_waiting_refund_is_not_its_own_earlier_refund(engine: Engine) -> None:
    """Frequent refunder: 3 earlier refunds in 30 days. Two earlier ones and this one make three
    requests, and only two of them are earlier: no review."""
    events: list[Envelope] = []
    for n in (1, 2):
        events += [received(3 * n - 2, f"R{n}", Channel.WEB, [item()], order_id="O-7"),
                   inspected(3 * n - 1, f"R{n}"),
                   asked(3 * n, f"R{n}", f"F{n}", Channel.WEB, order_id="O-7")]
    ingest(engine, *events, received(7, "R3", Channel.WEB, [item()], order_id="O-7"),
           asked(8, "R3", "F3", Channel.WEB, order_id="O-7"))
    assert refund(engine, "F3").state == "awaiting_inspection"
    ingest(engine, inspected(9, "R3"))
    row = refund(engine, "F3")
    assert row.state == "approved" and "risk.frequent_refunder" not in rule_ids(row)
    # a fourth one is the customer's fourth request: three earlier ones, so a person looks
    ingest(engine, received(10, "R4", Channel.WEB, [item()], order_id="O-7"), inspected(11, "R4"),
           asked(12, "R4", "F4", Channel.WEB, order_id="O-7"))
    assert "risk.frequent_refunder" in rule_ids(refund(engine, "F4"))


def test_each_inspection_decides_its_own_returns_waiting_refunds_only(engine: Engine) -> None:
    """Many waiting refunds in one batch, in two stores that use the same return ids: an
    inspection decides the refunds of its own store's return, those waiting from an earlier
    batch and those requested in its own batch alike, and no other."""
    def at(store: str, seq: int, body: Any) -> Envelope:
        return make_envelope(store, "n1", seq, body)

    def asks(store: str, n: int, seq: int) -> list[Envelope]:
        return [at(store, seq, ReturnReceived(
                    return_id=f"R{n}", channel=Channel.AMAZON_MFN, items=[item()],
                    reason="changed mind", order_id=f"111-{n}", received_at=utc_now())),
                at(store, seq + 1, RefundRequested(
                    refund_id=f"F{n}", return_id=f"R{n}", amount=Money.of("12.00", "EUR"),
                    channel=Channel.AMAZON_MFN, order_id=f"111-{n}", requested_by="clerk-1",
                    requested_at=utc_now()))]

    def look(store: str, n: int, seq: int) -> Envelope:
        return at(store, seq, InspectionRecorded(return_id=f"R{n}", grade=Grade.LIKE_NEW,
                                                 inspected_at=utc_now()))

    ingest(engine, *[e for store in ("s1", "s2") for n in range(20)
                     for e in asks(store, n, 2 * n + 1)])
    # s1 inspects its first ten returns while asking for ten more, and inspects two of those;
    # s2 inspects five returns whose ids s1 uses too, after s1 did
    ingest(engine, *[look("s1", n, 41 + n) for n in range(10)],
           *[e for n in range(20, 30) for e in asks("s1", n, 51 + 2 * (n - 20))],
           look("s1", 20, 71), look("s1", 21, 72), *[look("s2", n, 41 + n) for n in range(5)])
    with reading(engine) as conn:
        states = {(r.store_id, r.refund_id): r.state for r in conn.execute(select(refunds))}
        sent = [(r.store_id, r.body["refund_id"], r.body["outcome"]) for r in conn.execute(
            select(commands).where(commands.c.kind == "refund.decided")
            .order_by(commands.c.store_id, commands.c.seq))]
        actions = [(r.entity_id, r.action) for r in conn.execute(
            select(audit_log.c.entity_id, audit_log.c.action).where(
                audit_log.c.entity == "refund").order_by(audit_log.c.seq))]
    decided = {key for key, state in states.items() if state == "approved"}
    assert decided == {("s1", f"F{n}") for n in (*range(10), 20, 21)} | {
        ("s2", f"F{n}") for n in range(5)}
    assert all(state == "awaiting_inspection" for key, state in states.items()
               if key not in decided) and len(states) == 50
    for store, refund_id in states:  # each told and audited once a step, nothing more
        steps = ["awaiting_inspection", "approved"] if (store, refund_id) in decided else [
            "awaiting_inspection"]
        assert [o for s, f, o in sent if (s, f) == (store, refund_id)] == steps
        assert [a for e, a in actions if e == f"{store}/{refund_id}"] == [
            "refund.requested", "refund.awaiting_inspection",
            *(["refund.decided"] if len(steps) == 2 else [])]
