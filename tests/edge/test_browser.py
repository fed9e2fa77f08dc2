"""The counter page in headless Chromium: scan an RMA, record, inspect, dispose, see decision."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol import (
    Channel,
    ExpectedReturn,
    Money,
    RefundDecided,
    RefundOutcome,
    RefundRequested,
    ReturnItem,
    utc_now,
)
from tests.edge.conftest import Running, make_settings, running_agent, wait_until
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
                          unit_price=Money.of("49.99", "USD"))])


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
        by("return-reason").fill("defective")
        by("record-return").click()
        expect(by("return-state")).to_have_text("received")
        expect(by("return-total")).to_have_text("49.99 USD")
        expect(by("record-disposition")).to_be_disabled()  # nothing is restocked before QC
        expect(by("refund-status")).to_contain_text("Waiting for hub decision")

        by("inspection-grade").select_option("defective")
        by("tag-weee").check()
        by("inspection-notes").fill("does not heat")
        by("record-inspection").click()
        expect(by("return-state")).to_have_text("inspected")
        expect(by("inspection-done")).to_contain_text("defective")

        by("disposition-select").select_option("return_to_vendor")
        by("record-disposition").click()
        expect(by("return-state")).to_have_text("disposed")
        expect(by("disposition-done")).to_contain_text("return_to_vendor")

        _decide(run, hub)
        expect(by("refund-status")).to_have_attribute("data-status", "pending_approval")
        expect(by("refund-status")).to_contain_text("level 2")
        expect(by("refund-reasons")).to_contain_text("over the store limit")
        expect(by("outbox-pending")).to_have_attribute("data-pending", "0")


def _decide(run: Running, hub: HubStandIn) -> None:
    request = wait_until(lambda: hub.kinds("refund.requested"))[0].body
    assert isinstance(request, RefundRequested)
    hub.command(RefundDecided(
        refund_id=request.refund_id, return_id=request.return_id,
        outcome=RefundOutcome.PENDING_APPROVAL, amount=request.amount, approval_level=2,
        reasons=["49.99 USD is over the store limit"], decided_by="policy:auto",
        decided_at=utc_now()))
