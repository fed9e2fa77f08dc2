"""The counter page in headless Chromium: scan an RMA, record it with the item's category,
opened flag and sale date, see "refund after inspection", inspect, see the hub's second decision,
dispose, see the approval and then the refund's money move and fail while the card is open; and a
walk-in return whose unasked opened flag stays null."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.storage import outbox
from protocol import (
    Channel,
    DecisionRule,
    ExpectedReturn,
    Money,
    RefundDecided,
    RefundOutcome,
    RefundPayment,
    RefundRequested,
    RefundStatus,
    ReturnItem,
    ReturnReceived,
    RuleEffect,
    utc_now,
)
from tests.edge.conftest import NODE, STORE, Running, make_settings, running_agent, wait_until
from tests.edge.hub_standin import HubStandIn
from tests.support.broker import MqttCreds
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def page() -> Iterator[object]:
    """A tablet-sized touch page in headless Chromium."""
    with chromium_page(has_touch=True, timezone_id="UTC") as page:
        yield page


def expected_return() -> ExpectedReturn:
    return ExpectedReturn(
        rma_id="RMA-TOASTER", order_id="113-1234567-1234567", channel=Channel.AMAZON_MFN,
        customer_hint="J*** D***",
        items=[ReturnItem(sku="SKU-TOASTER-2", quantity=1, description="2-slice toaster",
                          unit_price=Money.of("49.99", "USD"), category="home")])


def test_one_return_through_the_counter_page(tmp_path: Path, node_creds: MqttCreds,
                                             hub: HubStandIn, page: object) -> None:
    expect = sync_api.expect
    expect.set_options(timeout=10_000)
    p = page
    by = p.get_by_test_id  # type: ignore[attr-defined]
    with running_agent(make_settings(tmp_path, node_creds)) as run:
        wait_until(lambda: run.http.get("/api/health").json()["subscribed"])
        hub.command(expected_return())
        wait_until(lambda: run.rows("expected_returns") == 1)

        p.goto(f"{run.url}/")  # type: ignore[attr-defined]
        expect(p.locator("body[data-ready=true]")).to_have_count(1)  # type: ignore[attr-defined]
        expect(by("broker-state")).to_have_attribute("data-state", "connected")
        expect(by("clock")).to_contain_text("Europe/Berlin")

        by("scan-input").fill("RMA-TOASTER")
        by("scan-input").press("Enter")
        expect(by("scan-result")).to_have_attribute("data-match", "expected_return")
        expect(by("expected-items")).to_contain_text("SKU-TOASTER-2")

        by("use-expected").click()
        expect(by("item-sku")).to_have_value("SKU-TOASTER-2")
        expect(by("item-price")).to_have_value("49.99")
        expect(by("item-category")).to_have_value("home")  # what the hub sent
        by("item-category").fill("electronics")  # the person picks another one
        by("item-opened").check()  # the seal is broken
        by("return-sold-on").fill("2025-03-14")  # from the sale receipt, Berlin time
        by("return-reason").fill("defective")
        by("record-return").click()
        expect(by("return-state")).to_have_text("Received")
        expect(by("return-total")).to_have_text("49.99 USD")
        expect(by("line-category")).to_have_text("electronics")
        expect(by("line-opened")).to_have_text("Opened")
        expect(by("return-meta")).to_contain_text(re.compile(r"sold \w+ 14, 2025"))
        expect(by("record-disposition")).to_be_disabled()  # nothing is restocked before QC
        expect(by("refund-status")).to_contain_text("Waiting for hub decision")

        event = wait_until(lambda: hub.kinds("return.received"))[0].body
        assert isinstance(event, ReturnReceived)  # decoded off the wire by the hub stand-in
        assert [(i.category, i.opened) for i in event.items] == [("electronics", True)]
        assert event.sold_at is not None
        assert event.sold_at.isoformat() == "2025-03-13T23:00:00+00:00"  # 00:00 in Berlin

        _decide(run, hub, RefundOutcome.AWAITING_INSPECTION, [])
        expect(by("refund-status")).to_have_attribute("data-status", "awaiting_inspection")
        expect(by("refund-status")).to_contain_text("Refund after inspection: record the QC")

        by("inspection-grade").select_option("defective")
        by("tag-weee").check()
        by("inspection-notes").fill("does not heat")
        by("record-inspection").click()
        expect(by("return-state")).to_have_text("Inspected")
        expect(by("inspection-done")).to_contain_text("Defective")
        expect(by("refund-status")).to_contain_text("Inspection recorded")

        _decide(run, hub, RefundOutcome.PENDING_APPROVAL, ["49.99 USD is over the store limit"],
                approval_level=2, rules=[DecisionRule(
                    code="tier.regional", effect=RuleEffect.NEEDS_APPROVAL, level=2,
                    params={"amount": "46.10", "currency": "EUR"})])
        expect(by("refund-status")).to_have_attribute("data-status", "pending_approval")
        expect(by("refund-status")).to_contain_text("level 2")
        expect(by("refund-reasons")).to_have_text(
            "49.99 USD needs approval by a manager (level 2).")  # the refund, not 46.10 EUR

        by("disposition-select").select_option("return_to_vendor")
        by("record-disposition").click()
        expect(by("return-state")).to_have_text("Done")
        expect(by("disposition-done")).to_contain_text("Back to the vendor")
        expect(by("refund-status")).to_have_attribute("data-status", "pending_approval")
        expect(by("outbox-pending")).to_have_attribute("data-pending", "0")
        expect(by("refund-payment")).to_be_hidden()  # no money moved yet

        _decide(run, hub, RefundOutcome.APPROVED, ["approved by hq-anna"])
        expect(by("refund-status")).to_have_attribute("data-status", "approved")
        _money_moves(hub, RefundPayment.SUBMITTED)  # while the card is open
        expect(by("refund-payment")).to_have_text("Refund sent (Amazon)")
        _money_moves(hub, RefundPayment.FAILED, AMAZON_SAYS)
        expect(by("refund-payment")).to_have_attribute("data-payment", "failed")
        expect(by("refund-payment")).to_have_text(
            f"Refund failed: {AMAZON_SAYS} — HQ will retry or contact the customer")
        expect(by("refund-status")).to_contain_text("Approved")  # the decision stays above it


def _decide(run: Running, hub: HubStandIn, outcome: RefundOutcome, reasons: list[str],
            approval_level: int | None = None, rules: list[DecisionRule] | None = None) -> None:
    request = wait_until(lambda: hub.kinds("refund.requested"))[0].body
    assert isinstance(request, RefundRequested)
    hub.command(RefundDecided(
        refund_id=request.refund_id, return_id=request.return_id, outcome=outcome,
        amount=request.amount, approval_level=approval_level, reasons=reasons,
        rules=rules or [], decided_by="policy:auto", decided_at=utc_now()))


AMAZON_SAYS = "Amazon: the adjustment exceeds the amount left to refund on the order"


def _money_moves(hub: HubStandIn, payment: RefundPayment, detail: str = "") -> None:
    request = hub.kinds("refund.requested")[0].body
    assert isinstance(request, RefundRequested)
    hub.command(RefundStatus(refund_id=request.refund_id, return_id=request.return_id,
                             status=payment, detail=detail, at=utc_now()))


def test_a_walk_in_return_with_a_category_and_an_unasked_seal(tmp_path: Path,
                                                              page: object) -> None:
    expect = sync_api.expect
    expect.set_options(timeout=10_000)
    p = page
    by = p.get_by_test_id  # type: ignore[attr-defined]
    with running_agent(make_settings(tmp_path, currency="EUR"), connect=False) as run:
        p.goto(f"{run.url}/")  # type: ignore[attr-defined]
        expect(p.locator("body[data-ready=true]")).to_have_count(1)  # type: ignore[attr-defined]
        by("scan-input").fill("4006381333931")
        by("scan-input").press("Enter")
        by("record-manually").click()
        rows = by("item-row")
        rows.nth(0).get_by_test_id("item-price").fill("59.99")
        rows.nth(0).get_by_test_id("item-category").fill("Software")
        rows.nth(0).get_by_test_id("item-opened").check()
        by("add-item").click()
        rows.nth(1).get_by_test_id("item-sku").fill("SKU-CABLE")
        rows.nth(1).get_by_test_id("item-price").fill("9.99")
        rows.nth(1).get_by_test_id("item-category").fill("sealed media")  # not a category
        by("return-reason").fill("changed mind")
        by("record-return").click()  # the browser refuses it before it is sent
        mismatch = "e => e.validity.patternMismatch"
        assert rows.nth(1).get_by_test_id("item-category").evaluate(mismatch) is True
        expect(by("return-card")).to_be_hidden()
        rows.nth(1).get_by_test_id("item-category").fill("")
        by("record-return").click()
        expect(by("return-state")).to_have_text("Received")
        expect(by("line-category")).to_have_text(["software", "—"])
        expect(by("line-opened")).to_have_text(["Opened", "Not checked"])
        overflow = p.evaluate(  # type: ignore[attr-defined]
            "document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0  # usable on a tablet: nothing to scroll sideways
        with run.agent.store.read() as tx:
            (body,) = [env.body for env in outbox.read_range(tx, STORE, NODE, 1, 10)
                       if isinstance(env.body, ReturnReceived)]
    assert [(i.sku, i.category, i.opened) for i in body.items] == [
        ("4006381333931", "software", True), ("SKU-CABLE", None, None)]
    assert body.sold_at is None
