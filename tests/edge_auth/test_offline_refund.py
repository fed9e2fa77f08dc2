"""Offline refunds: a signed-in store manager pays out a POS refund within the store's limit while
the hub is away; the event tells the hub, the hub's later decision overrides the local status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge_agent.pos.models import REQUEST_EXAMPLE
from edge_agent.storage import outbox, records
from edge_agent.sync import commands
from protocol import (
    Body,
    Channel,
    ExpectedReturn,
    Money,
    RefundDecided,
    RefundOutcome,
    RefundRequested,
    ReturnItem,
    ReturnReceived,
    encode,
    make_envelope,
    utc_now,
)
from tests.edge.conftest import Running, make_settings, running_agent, wait_until
from tests.edge_auth.conftest import NODE, POS_KEY, STORE, apply_config, sign_in
from tests.support.broker import TestBroker

POS = {"Authorization": f"Bearer {POS_KEY}"}


def item(amount: str, currency: str = "EUR", quantity: int = 1) -> dict[str, Any]:
    return {"sku": "SKU-KETTLE-1", "quantity": quantity,
            "unit_price": {"amount": amount, "currency": currency}}


def offline(amount: str = "34.90", currency: str = "EUR", **extra: Any) -> dict[str, Any]:
    """A POS return at the counter, refund paid in cash and approved offline."""
    return {"channel": "pos", "reason": "defective", "items": [item(amount, currency)],
            "refund_method": "cash", "approve_offline": True, **extra}


def events(run: Running) -> list[Body]:
    with run.agent.store.read() as tx:
        last = tx.counter("next_seq") - 1
        return [envelope.body for envelope in outbox.read_range(tx, STORE, NODE, 1, last)]


def as_manager(run: Running) -> Running:
    assert sign_in(run.http, "max").status_code == 201
    return run


@pytest.mark.parametrize("amount", ["34.90", "50.00"])
def test_a_manager_pays_out_within_the_limit_while_the_hub_is_away(enrolled: Running,
                                                                   amount: str) -> None:
    answer = as_manager(enrolled).http.post("/api/returns", json=offline(amount))
    assert answer.status_code == 201, answer.text
    refund = answer.json()["refund"]
    assert refund["status"] == "approved_offline" and refund["approved_offline_by"] == "max"
    assert refund["refund_method"] == "cash" and refund["decision"] is None
    requested = events(enrolled)[1]
    assert isinstance(requested, RefundRequested)
    assert requested.approved_offline_by == "max" and requested.refund_method == "cash"
    assert requested.requested_by == "max" and requested.amount == Money.of(amount, "EUR")
    with enrolled.agent.store.read() as tx:
        entry = tx.one("SELECT * FROM audit WHERE action = 'refund.approved_offline'")
    assert entry is not None and (entry["actor"], entry["role"]) == ("max", "store_manager")


@pytest.mark.parametrize(("body", "field"), [
    (offline("50.01"), "amount"),
    ({**offline(), "items": [item("20.00", quantity=3)]}, "amount"),
    (offline("10.00", "USD"), "amount"),
    (offline(channel="web"), "channel"),
])
def test_beyond_the_limit_the_hub_must_decide(enrolled: Running, body: dict[str, Any],
                                              field: str) -> None:
    answer = as_manager(enrolled).http.post("/api/returns", json=body)
    assert answer.status_code == 409, answer.text
    assert answer.json()["detail"][0]["field"] == field
    assert enrolled.rows("returns") == 0 and enrolled.rows("outbox") == 0  # nothing written


def test_without_an_offline_limit_nothing_is_refunded_offline(enrolled: Running) -> None:
    apply_config(enrolled, 2, limit=None)
    answer = as_manager(enrolled).http.post("/api/returns", json=offline())
    assert answer.status_code == 409 and answer.json()["detail"][0]["field"] == "amount"


def test_an_offline_approval_needs_a_refund_request(enrolled: Running) -> None:
    answer = as_manager(enrolled).http.post("/api/returns",
                                            json=offline(request_refund=False))
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "approve_offline"


def test_staff_and_pos_keys_may_not_approve_offline(enrolled: Running) -> None:
    by_pos = enrolled.http.post("/api/returns", json=offline(), headers=POS)
    assert by_pos.status_code == 403
    assert by_pos.json()["detail"][0]["field"] == "approve_offline"
    sign_in(enrolled.http, "ann")
    by_staff = enrolled.http.post("/api/returns", json=offline())
    assert by_staff.status_code == 403
    assert by_staff.json()["detail"][0]["field"] == "approve_offline"
    assert enrolled.rows("returns") == 0


def test_before_enrolment_nobody_approves_offline(agent: Running) -> None:
    answer = agent.http.post("/api/returns", json=offline())
    assert answer.status_code == 403 and agent.rows("returns") == 0


def test_the_hub_s_decision_overrides_the_local_status(enrolled: Running) -> None:
    view = as_manager(enrolled).http.post("/api/returns", json=offline()).json()
    refund = view["refund"]
    decided = RefundDecided(
        refund_id=refund["refund_id"], return_id=view["return_id"],
        outcome=RefundOutcome.MANUAL_REVIEW, amount=Money.of("34.90", "EUR"),
        reasons=["customer has 6 refunds in 30 days"], decided_by="policy:auto",
        decided_at=utc_now())
    outcome = commands.handle(enrolled.agent.store, STORE, NODE,
                              encode(make_envelope(STORE, NODE, 1, decided)), utc_now())
    assert outcome.result == "applied"
    after = enrolled.http.get(f"/api/returns/{view['return_id']}").json()["refund"]
    assert after["status"] == "manual_review" and after["approved_offline_by"] == "max"


def test_a_pos_return_carries_its_refund_mode_as_refund_method(enrolled: Running) -> None:
    answer = enrolled.http.post("/api/pos/returns", headers=POS,
                                json={**REQUEST_EXAMPLE, "refund_mode": "store_credit"})
    assert answer.status_code == 201
    requested = events(enrolled)[1]
    assert isinstance(requested, RefundRequested)
    assert requested.refund_method == "store_credit" and requested.approved_offline_by is None
    assert answer.json()["record"]["refund"]["status"] == "requested"


def test_a_manager_approves_a_pos_return_offline_and_a_retry_is_the_same(enrolled: Running) -> None:
    as_manager(enrolled)
    body = {**REQUEST_EXAMPLE, "cashier": None, "approve_offline": True}
    first = enrolled.http.post("/api/pos/returns", json=body)
    assert first.status_code == 201, first.text
    record = first.json()["record"]
    assert record["staff_id"] == "max" and record["refund"]["status"] == "approved_offline"
    again = enrolled.http.post("/api/pos/returns", json=body)
    assert again.status_code == 200 and again.json()["return_id"] == first.json()["return_id"]
    over = enrolled.http.post("/api/pos/returns", json={
        **body, "pos_transaction_id": "till-3-2", "lines": [
            {**REQUEST_EXAMPLE["lines"][0], "qty": 2}]})
    assert over.status_code == 409 and over.json()["detail"][0]["field"] == "amount"


def test_a_pos_key_cannot_approve_a_pos_return_offline(enrolled: Running) -> None:
    answer = enrolled.http.post("/api/pos/returns", headers=POS,
                                json={**REQUEST_EXAMPLE, "approve_offline": True})
    assert answer.status_code == 403
    assert answer.json()["detail"][0]["field"] == "approve_offline"


def test_mismatch_reasons_travel_with_the_return(enrolled: Running) -> None:
    expected = ExpectedReturn(
        rma_id="RMA-9", order_id="113-1", channel=Channel.AMAZON_MFN,
        items=[ReturnItem(sku="SKU-TOASTER-2", quantity=1, unit_price=Money.of("39.99", "EUR"))])
    with enrolled.agent.store.write() as tx:
        records.upsert_expected(tx, expected, "cmd-1", utc_now())
    enrolled.http.post("/api/returns", headers=POS, json={
        "channel": "amazon_mfn", "reason": "wrong item", "rma_id": "RMA-9",
        "items": [item("39.99")]})
    received = events(enrolled)[0]
    assert isinstance(received, ReturnReceived) and received.mismatch is True
    assert received.mismatch_reasons == ["SKU-KETTLE-1 is not on RMA RMA-9",
                                         "SKU-TOASTER-2 (x1) on RMA RMA-9 was not returned"]


def test_while_the_hub_link_is_up_the_hub_decides(tmp_path: Path, broker: TestBroker) -> None:
    settings = make_settings(tmp_path, broker.node_creds(STORE, NODE), currency="EUR")
    with running_agent(settings) as run:
        wait_until(lambda: run.http.get("/api/health").json()["broker_connected"])
        apply_config(run)
        answer = as_manager(run).http.post("/api/returns", json=offline())
        assert answer.status_code == 409, answer.text
        assert answer.json()["detail"][0]["field"] == "approve_offline"
        assert run.rows("returns") == 0
