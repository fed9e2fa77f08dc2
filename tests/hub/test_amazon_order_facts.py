"""Refunds of Amazon sales are decided with the synced order's facts (purchase date, marketplace).

The order is stored the way the orders sync stores it (``order_row`` + ``upsert``); the ingest
batch loads it in one SELECT and the policy counts the return window from the purchase day.
Amazon sales refund after inspection under the default policy, so each return is inspected.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from hub.storage.engine import reading
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
from tests.support.databases import statements_sent

US = "ATVPDKIKX0DEJ"  # Amazon.com: 30-day window, no statutory withdrawal right


def amazon_return(seq: int, return_id: str, order_id: str | None,
                  marketplace_id: str | None = US) -> Envelope:
    return make_envelope("s1", "n1", seq, ReturnReceived(
        return_id=return_id, channel=Channel.AMAZON_MFN, reason="too small",
        order_id=order_id, marketplace_id=marketplace_id,
        items=[ReturnItem(sku="SKU-1", quantity=1, unit_price=Money.of("12.00", "USD"))],
        received_at=utc_now()))


def amazon_refund(seq: int, return_id: str, refund_id: str, order_id: str | None,
                  marketplace_id: str | None = US) -> Envelope:
    return make_envelope("s1", "n1", seq, RefundRequested(
        refund_id=refund_id, return_id=return_id, amount=Money.of("12.00", "USD"),
        channel=Channel.AMAZON_MFN, order_id=order_id, marketplace_id=marketplace_id,
        requested_by="clerk-1", requested_at=utc_now()))


def inspected(seq: int, return_id: str) -> Envelope:
    return make_envelope("s1", "n1", seq, InspectionRecorded(
        return_id=return_id, grade=Grade.LIKE_NEW, inspected_at=utc_now()))


def refund_row(engine: Engine, refund_id: str) -> Any:
    with reading(engine) as conn:
        return conn.execute(select(refunds).where(refunds.c.refund_id == refund_id)).one()


def rule_ids(row: Any) -> set[str]:
    return {rule["rule_id"] for rule in row.decision["rules"]}


def test_an_order_synced_45_days_ago_is_past_the_window_and_rejected(engine: Engine) -> None:
    sync_order(engine, "111-0000001-0000001", utc_now() - timedelta(days=45))
    ingest(engine, amazon_return(1, "R1", "111-0000001-0000001"),
           amazon_refund(2, "R1", "F1", "111-0000001-0000001"))
    assert refund_row(engine, "F1").state == "awaiting_inspection"
    ingest(engine, inspected(3, "R1"))
    row = refund_row(engine, "F1")
    assert (row.state, row.outcome, row.decided_by) == ("rejected", "rejected", "policy:auto")
    assert "window.expired" in rule_ids(row)
    assert row.customer_key == "order:111-0000001-0000001"


def test_the_order_id_of_the_return_is_enough(engine: Engine) -> None:
    sync_order(engine, "111-0000001-0000002", utc_now() - timedelta(days=45))
    ingest(engine, amazon_return(1, "R1", "111-0000001-0000002"), inspected(2, "R1"))
    ingest(engine, amazon_refund(3, "R1", "F1", None, None))
    row = refund_row(engine, "F1")
    assert row.state == "rejected" and "window.expired" in rule_ids(row)


def test_a_recent_order_is_within_the_window(engine: Engine) -> None:
    sync_order(engine, "111-0000001-0000003", utc_now() - timedelta(days=5))
    ingest(engine, amazon_return(1, "R1", "111-0000001-0000003"),
           amazon_refund(2, "R1", "F1", "111-0000001-0000003"), inspected(3, "R1"))
    row = refund_row(engine, "F1")
    assert row.state == "approved" and "window.expired" not in rule_ids(row)


def test_without_a_known_order_the_refund_is_decided_as_before(engine: Engine) -> None:
    sync_order(engine, "111-0000001-0000004", utc_now() - timedelta(days=45))
    ingest(engine, amazon_return(1, "R1", "111-0000009-0000009"),
           amazon_refund(2, "R1", "F1", "111-0000009-0000009"),
           # the order is known, but of another marketplace than the refund names: not used
           amazon_return(3, "R2", "111-0000001-0000004", "A1F83G8C2ARO7P"),
           amazon_refund(4, "R2", "F2", "111-0000001-0000004", "A1F83G8C2ARO7P"),
           inspected(5, "R1"), inspected(6, "R2"))
    for refund_id in ("F1", "F2"):
        row = refund_row(engine, refund_id)
        assert row.state == "approved" and "window.expired" not in rule_ids(row)


def test_a_pos_refund_naming_a_synced_order_ignores_it(engine: Engine) -> None:
    sync_order(engine, "111-0000001-0000005", utc_now() - timedelta(days=45))
    ingest(engine, make_envelope("s1", "n1", 1, ReturnReceived(
        return_id="R1", channel=Channel.POS, reason="too small", order_id="111-0000001-0000005",
        items=[ReturnItem(sku="SKU-1", quantity=1, unit_price=Money.of("12.00", "USD"))],
        received_at=utc_now())), make_envelope("s1", "n1", 2, RefundRequested(
            refund_id="F1", return_id="R1", amount=Money.of("12.00", "USD"),
            channel=Channel.POS, order_id="111-0000001-0000005", requested_at=utc_now())))
    assert refund_row(engine, "F1").state == "approved"


def test_orders_are_loaded_once_per_batch(engine: Engine) -> None:
    for n in range(1, 21):
        sync_order(engine, f"111-0000002-{n:07d}", utc_now() - timedelta(days=45))
    events = [amazon_return(n, f"R{n}", f"111-0000002-{n:07d}") for n in range(1, 21)]
    events += [amazon_refund(n + 20, f"R{n}", f"F{n}", f"111-0000002-{n:07d}")
               for n in range(1, 21)]
    events += [inspected(n + 40, f"R{n}") for n in range(1, 21)]
    with statements_sent(engine) as statements:
        result = ingest(engine, *events)
    assert result.applied == 60
    assert len([s for s in statements if "FROM amazon_orders" in s]) == 1
    assert all(refund_row(engine, f"F{n}").state == "rejected" for n in range(1, 21))


def test_the_promised_delivery_opens_the_window(engine: Engine) -> None:
    """Ordered 40 days ago, promised for 15 days ago: day 15 of 30 after delivery."""
    now = utc_now()
    sync_order(engine, "111-0000003-0000001", now - timedelta(days=40),
               deliver_by=now - timedelta(days=15))
    ingest(engine, amazon_return(1, "R1", "111-0000003-0000001"), inspected(2, "R1"),
           amazon_refund(3, "R1", "F1", "111-0000003-0000001"))
    row = refund_row(engine, "F1")
    assert row.state == "approved" and "window.expired" not in rule_ids(row)


def test_one_buyer_is_one_customer_across_orders(engine: Engine) -> None:
    """Three earlier refunds of one buyer, on three orders: the fourth goes to a person."""
    for n in range(1, 5):
        sync_order(engine, f"111-0000004-{n:07d}", utc_now() - timedelta(days=5),
                   buyer_email=" Repeat.Buyer@marketplace.amazon.com" if n % 2 else
                   "repeat.buyer@MARKETPLACE.amazon.com")
    events: list[Envelope] = []
    for n in range(1, 5):
        order = f"111-0000004-{n:07d}"
        events += [amazon_return(3 * n - 2, f"R{n}", order), inspected(3 * n - 1, f"R{n}"),
                   amazon_refund(3 * n, f"R{n}", f"F{n}", order)]
    ingest(engine, *events[:9])
    ingest(engine, *events[9:])  # the history of earlier batches comes from the database
    keys = {refund_row(engine, f"F{n}").customer_key for n in range(1, 5)}
    assert len(keys) == 1 and keys.pop().startswith("buyer:")
    assert [refund_row(engine, f"F{n}").state for n in range(1, 4)] == ["approved"] * 3
    fourth = refund_row(engine, "F4")
    assert fourth.outcome == "manual_review" and "risk.frequent_refunder" in rule_ids(fourth)


def test_a_flagged_order_or_buyer_goes_to_manual_review(engine: Engine) -> None:
    from hub.access.users import Actor
    from hub.risk.flags import flag

    sync_order(engine, "111-0000005-0000001", utc_now() - timedelta(days=5))
    sync_order(engine, "111-0000005-0000002", utc_now() - timedelta(days=5),
               buyer_email="flagged@marketplace.amazon.com")
    sync_order(engine, "111-0000005-0000003", utc_now() - timedelta(days=5))
    officer = Actor("fin-1", "finance")
    flag(engine, "order", "111-0000005-0000001", "chargeback on an earlier order", officer)
    ingest(engine, amazon_return(1, "R2", "111-0000005-0000002"), inspected(2, "R2"),
           amazon_refund(3, "R2", "F2", "111-0000005-0000002"))
    flag(engine, "customer", refund_row(engine, "F2").customer_key, "abuse report", officer)
    ingest(engine, amazon_return(4, "R1", "111-0000005-0000001"), inspected(5, "R1"),
           amazon_refund(6, "R1", "F1", "111-0000005-0000001"),
           amazon_return(7, "R3", "111-0000005-0000003"), inspected(8, "R3"),
           amazon_refund(9, "R3", "F3", "111-0000005-0000003"))
    assert refund_row(engine, "F2").state == "approved"  # decided before the buyer was flagged
    flagged = refund_row(engine, "F1")
    assert flagged.outcome == "manual_review" and "risk.high_risk_order" in rule_ids(flagged)
    assert flagged.reasons[-1] == "order flagged high-risk: chargeback on an earlier order"
    assert refund_row(engine, "F3").state == "approved"  # not flagged
    ingest(engine, amazon_return(10, "R4", "111-0000005-0000002"), inspected(11, "R4"),
           amazon_refund(12, "R4", "F4", "111-0000005-0000002"))
    assert "risk.high_risk_order" in rule_ids(refund_row(engine, "F4"))  # the buyer is flagged
