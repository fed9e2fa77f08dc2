"""Hub commands applied exactly once, refused cleanly when bad, each reported once: RMAs, refund
decisions (latest wins) and refund payment statuses (newest ``at`` wins, kept ones reported)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_agent.returns.counter import Counter
from edge_agent.returns.models import ItemRequest, ReturnRequest
from edge_agent.staff import store_config
from edge_agent.storage import audit, outbox
from edge_agent.storage.store import Store
from edge_agent.sync import commands
from protocol import (
    Channel,
    CommandApplied,
    ExpectedReturn,
    Money,
    RefundDecided,
    RefundOutcome,
    RefundPayment,
    RefundStatus,
    ReturnItem,
    encode,
    make_envelope,
    utc_now,
)

STORE, NODE = "store-a", "counter-1"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "edge.db", STORE, NODE)
    yield opened
    opened.close()


def rma(rma_id: str = "RMA-1", currency2: str = "USD") -> ExpectedReturn:
    return ExpectedReturn(
        rma_id=rma_id, order_id="113-1", channel=Channel.AMAZON_MFN,
        items=[ReturnItem(sku="A", quantity=1, unit_price=Money.of("5.00", "USD")),
               ReturnItem(sku="B", quantity=1, unit_price=Money.of("5.00", currency2))])


def handle(store: Store, payload: bytes) -> commands.Outcome:
    return commands.handle(store, STORE, NODE, payload, utc_now())


def reports(store: Store) -> list[CommandApplied]:
    with store.read() as tx:
        events = outbox.read_range(tx, STORE, NODE, 1, 1000)
    return [env.body for env in events if isinstance(env.body, CommandApplied)]


def test_expected_return_is_cached_applied_once_and_reported_once(store: Store) -> None:
    payload = encode(make_envelope(STORE, NODE, 1, rma()))
    first, again = handle(store, payload), handle(store, payload)
    assert (first.result, again.result) == ("applied", "duplicate")
    with store.read() as tx:
        assert tx.scalar("SELECT count(*) FROM expected_returns") == 1
        assert tx.scalar("SELECT count(*) FROM applied_commands") == 1
    assert [(r.command_id, r.result) for r in reports(store)] == [(first.command_id, "applied")]


def test_a_newer_rma_command_refreshes_the_cache(store: Store) -> None:
    handle(store, encode(make_envelope(STORE, NODE, 1, rma())))
    changed = rma().model_copy(update={"order_id": "113-2"})
    handle(store, encode(make_envelope(STORE, NODE, 2, changed)))
    with store.read() as tx:
        assert tx.scalar("SELECT order_id FROM expected_returns") == "113-2"


@pytest.mark.parametrize(("payload", "detail"), [
    (b"\xff\xfe not json", "not valid UTF-8 JSON"),
    (b'{"id": "00000000-0000-4000-8000-000000000001", "kind": "return.received", "body": {}}',
     "not allowed here"),
    (json.dumps({"id": "00000000-0000-4000-8000-000000000002", "store_id": STORE,
                 "node_id": NODE, "seq": 1, "kind": "return.expected",
                 "occurred_at": "2026-01-01T00:00:00Z",
                 "body": {"rma_id": "X", "order_id": "Y", "channel": "pos",
                          "items": []}}).encode(), "body.items"),
])
def test_undecodable_commands_are_refused_recorded_and_reported_once(
        store: Store, payload: bytes, detail: str) -> None:
    first, again = handle(store, payload), handle(store, payload)
    assert first.result == "refused" and detail in first.detail
    assert again.result == "duplicate"
    assert [r.result for r in reports(store)] == ["refused"]


def test_a_command_for_another_node_is_refused(store: Store) -> None:
    outcome = handle(store, encode(make_envelope(STORE, "counter-2", 1, rma())))
    assert outcome.result == "refused" and "node counter-2" in outcome.detail
    with store.read() as tx:
        assert tx.scalar("SELECT count(*) FROM expected_returns") == 0


def test_an_rma_in_two_currencies_is_refused(store: Store) -> None:
    outcome = handle(store, encode(make_envelope(STORE, NODE, 1, rma(currency2="EUR"))))
    assert outcome.result == "refused" and "one currency" in outcome.detail


def recorded_refund(store: Store) -> tuple[str, str]:
    counter = Counter(store, STORE, NODE)
    view = counter.record_return(ReturnRequest(
        channel=Channel.POS, reason="broken",
        items=[ItemRequest(sku="A", quantity=1, unit_price=Money.of("80.00", "USD"))]))
    assert view.refund is not None
    return view.return_id, view.refund.refund_id


def decided(return_id: str, refund_id: str, outcome: RefundOutcome, minutes: int = 0,
            ) -> RefundDecided:
    return RefundDecided(refund_id=refund_id, return_id=return_id, outcome=outcome,
                         amount=Money.of("80.00", "USD"), approval_level=1,
                         reasons=["over the limit"], decided_by="hq-anna",
                         decided_at=utc_now() + timedelta(minutes=minutes))


def test_refund_decisions_update_the_refund_latest_wins(store: Store) -> None:
    return_id, refund_id = recorded_refund(store)
    counter = Counter(store, STORE, NODE)
    pending = decided(return_id, refund_id, RefundOutcome.PENDING_APPROVAL)
    approved = decided(return_id, refund_id, RefundOutcome.APPROVED, minutes=5)
    assert handle(store, encode(make_envelope(STORE, NODE, 1, pending))).result == "applied"
    refund = counter.get_return(return_id).refund
    assert refund is not None and refund.status == "pending_approval"
    assert refund.decision is not None and refund.decision.approval_level == 1
    handle(store, encode(make_envelope(STORE, NODE, 2, approved)))
    late = handle(store, encode(make_envelope(STORE, NODE, 3, pending)))
    assert late.result == "applied" and "kept the newer decision" in late.detail
    refund = counter.get_return(return_id).refund
    assert refund is not None and refund.status == "approved"
    assert refund.decision is not None and refund.decision.decided_by == "hq-anna"


def test_a_decision_for_an_unknown_refund_is_refused(store: Store) -> None:
    return_id, _ = recorded_refund(store)
    outcome = handle(store, encode(make_envelope(
        STORE, NODE, 1, decided(return_id, "F0000000000000", RefundOutcome.APPROVED))))
    assert outcome.result == "refused" and "no refund F0000000000000" in outcome.detail


def test_store_config_that_is_not_an_envelope_is_refused(store: Store) -> None:
    # The config is applied by edge_agent.staff.store_config (tests/edge_auth cover it in full).
    assert store_config.receive(store, STORE, b'{"version": 1}', utc_now()).result == "refused"
    assert store_config.receive(store, STORE, b"x" * (300 * 1024), utc_now()).result == "refused"
    with store.read() as tx:
        assert store_config.version(tx) is None


T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def status(return_id: str, refund_id: str, payment: RefundPayment, minutes: int,
           detail: str = "") -> RefundStatus:
    return RefundStatus(refund_id=refund_id, return_id=return_id, status=payment, detail=detail,
                        at=T0 + timedelta(minutes=minutes))


def send(store: Store, seq: int, body: RefundStatus) -> commands.Outcome:
    return handle(store, encode(make_envelope(STORE, NODE, seq, body)))


def payment_of(store: Store, return_id: str) -> tuple[str, str, datetime] | None:
    refund = Counter(store, STORE, NODE).get_return(return_id).refund
    assert refund is not None
    payment = refund.payment
    return None if payment is None else (payment.status.value, payment.detail, payment.at)


def test_a_refund_status_is_applied_once_reported_once_and_audited(store: Store) -> None:
    return_id, refund_id = recorded_refund(store)
    assert payment_of(store, return_id) is None  # nothing known before the hub says
    payload = encode(make_envelope(STORE, NODE, 1, status(return_id, refund_id,
                                                          RefundPayment.SUBMITTED, 0)))
    first, again = handle(store, payload), handle(store, payload)
    assert (first.result, again.result) == ("applied", "duplicate")
    assert first.detail == f"refund {refund_id} payment submitted"
    assert payment_of(store, return_id) == ("submitted", "", T0)
    assert [(r.command_id, r.command_kind, r.result) for r in reports(store)] == [
        (first.command_id, "refund.status", "applied")]
    send(store, 2, status(return_id, refund_id, RefundPayment.FAILED, 1, detail="too much"))
    with store.read() as tx:
        entries = tx.all("SELECT before, after FROM audit WHERE action = 'refund.status' "
                         "ORDER BY id")
        assert audit.verify(tx) is None
    assert [(e["before"] and json.loads(e["before"]), json.loads(e["after"]))
            for e in entries] == [
        (None, {"payment_status": "submitted", "payment_detail": "",
                "payment_at": "2026-11-26T09:00:00.000000Z"}),
        ({"payment_status": "submitted", "payment_detail": "",
          "payment_at": "2026-11-26T09:00:00.000000Z"},
         {"payment_status": "failed", "payment_detail": "too much",
          "payment_at": "2026-11-26T09:01:00.000000Z"})]


def test_out_of_order_statuses_keep_the_newest(store: Store) -> None:
    return_id, refund_id = recorded_refund(store)
    send(store, 1, status(return_id, refund_id, RefundPayment.SUBMITTED, 0))
    send(store, 2, status(return_id, refund_id, RefundPayment.SETTLED, 20))
    late = send(store, 3, status(return_id, refund_id, RefundPayment.CONFIRMED, 10))
    assert late.result == "applied"
    assert late.detail.startswith(f"kept the newer payment status of {refund_id} (settled at")
    tie = send(store, 4, status(return_id, refund_id, RefundPayment.FAILED, 20, detail="x"))
    assert tie.result == "applied" and "kept the newer" in tie.detail  # a tie keeps the held one
    assert payment_of(store, return_id) == ("settled", "", T0 + timedelta(minutes=20))
    with store.read() as tx:  # only the two statuses that changed the refund are audited
        assert tx.scalar("SELECT count(*) FROM audit WHERE action = 'refund.status'") == 2


def test_a_failure_then_a_retry_shows_the_retry(store: Store) -> None:
    return_id, refund_id = recorded_refund(store)
    reason = "Amazon: the adjustment exceeds the amount left to refund on the order"
    send(store, 1, status(return_id, refund_id, RefundPayment.FAILED, 5, detail=reason))
    assert payment_of(store, return_id) == ("failed", reason, T0 + timedelta(minutes=5))
    send(store, 2, status(return_id, refund_id, RefundPayment.SUBMITTED, 30))
    assert payment_of(store, return_id) == ("submitted", "", T0 + timedelta(minutes=30))


def test_a_status_leaves_the_decision_alone(store: Store) -> None:
    return_id, refund_id = recorded_refund(store)
    handle(store, encode(make_envelope(STORE, NODE, 1, decided(return_id, refund_id,
                                                               RefundOutcome.APPROVED))))
    send(store, 2, status(return_id, refund_id, RefundPayment.CONFIRMED, 0))
    refund = Counter(store, STORE, NODE).get_return(return_id).refund
    assert refund is not None and refund.status == "approved" and refund.decision is not None
    assert refund.payment is not None and refund.payment.status is RefundPayment.CONFIRMED


@pytest.mark.parametrize(("refund_id", "other_return", "detail"), [
    ("F0000000000000", False, "no refund F0000000000000 at this node"),
    (None, True, "belongs to return"),
])
def test_a_status_for_a_refund_that_is_not_ours_is_refused_and_reported(
        store: Store, refund_id: str | None, other_return: bool, detail: str) -> None:
    return_id, own_refund = recorded_refund(store)
    body = status("R-OTHER" if other_return else return_id, refund_id or own_refund,
                  RefundPayment.SUBMITTED, 0)
    outcome = send(store, 1, body)
    assert outcome.result == "refused" and detail in outcome.detail
    assert payment_of(store, return_id) is None
    (report,) = reports(store)
    assert (report.command_kind, report.result, report.detail) == (
        "refund.status", "refused", outcome.detail)


def test_a_command_kind_without_an_applier_is_refused_not_raised(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # An agent older than its hub: the kind decodes but this node has nothing to apply it with.
    return_id, refund_id = recorded_refund(store)
    monkeypatch.delitem(commands.APPLIERS, "refund.status")
    outcome = send(store, 1, status(return_id, refund_id, RefundPayment.SUBMITTED, 0))
    assert outcome.result == "refused" and "does not apply refund.status" in outcome.detail
    assert [r.result for r in reports(store)] == ["refused"]
