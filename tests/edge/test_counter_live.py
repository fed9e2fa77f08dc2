"""The counter page in headless Chromium is told, not polling: push while the live stream is up.

While the stream is up the page asks nothing about the open return until an event concerns it,
and still shows the hub's decision; when the stream drops, or cannot be opened, it polls, and it
goes back to live when the stream returns. Its form choices come from ``GET /api/options``, every
input has a label, the refund status is announced, and focus lands on a return just recorded.
Real Mosquitto, a hub stand-in, the agent on uvicorn.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from protocol import RefundDecided, RefundOutcome, RefundRequested, utc_now
from tests.edge.conftest import Running, make_settings, running_agent, wait_until
from tests.edge.hub_standin import HubStandIn
from tests.support.broker import MqttCreds
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS

sync_api = pytest.importorskip("playwright.sync_api")

POLL_MS = 2000  # counter.js: how often it polls while the live stream is down
STREAM = "**/api/events/stream"


@pytest.fixture
def page() -> Iterator[Any]:
    """A tablet-sized page in headless Chromium."""
    with chromium_page(timezone_id="UTC") as page:
        yield page


@pytest.fixture
def linked(tmp_path: Path, node_creds: MqttCreds, hub: HubStandIn) -> Iterator[Running]:
    """An agent linked to the hub stand-in (which acks, and decides nothing by itself)."""
    with running_agent(make_settings(tmp_path, node_creds)) as run:
        wait_until(lambda: run.http.get("/api/health").json()["subscribed"])
        yield run


class Reads:
    """The page's GET requests of one return (``GET /api/returns/{id}``), as they are made."""

    def __init__(self, page: Any) -> None:
        self.return_id = ""
        self.count = 0
        page.on("request", self._seen)

    def wait_for(self, page: Any, count: int, periods: int = 8) -> None:
        """Until ``count`` reads were made, for at most ``periods`` polling periods (Playwright
        hands the page's events over only while it is called, so wait through the page). The
        bound is loose on purpose: on a loaded CI machine one period of the page can take longer
        than its nominal two seconds; a page that does not poll still fails it."""
        for _ in range(periods * POLL_MS // 100):
            if self.count >= count:
                return
            page.wait_for_timeout(100)
        raise AssertionError(f"{self.count} reads of the open return, not {count}")

    def _seen(self, request: Any) -> None:
        path = urlsplit(request.url).path
        if self.return_id and request.method == "GET" and path == f"/api/returns/{self.return_id}":
            self.count += 1


def open_page(page: Any, run: Running) -> Any:
    expect = sync_api.expect
    expect.set_options(timeout=10_000)
    page.goto(run.url)
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page.get_by_test_id


def record_by_hand(by: Any, price: str = "54.80") -> str:
    """Record a walk-in return on the page; its id."""
    by("scan-input").fill("4006381333931")
    by("scan-input").press("Enter")
    by("record-manually").click()
    by("item-price").fill(price)
    by("return-reason").fill("defective")
    by("record-return").click()
    sync_api.expect(by("return-state")).to_have_text("Received")
    return str(by("return-id").text_content())


def decide(hub: HubStandIn, outcome: RefundOutcome) -> None:
    """The hub's decision on the (only) refund requested so far."""
    request = wait_until(lambda: hub.kinds("refund.requested"))[0].body
    assert isinstance(request, RefundRequested)
    hub.command(RefundDecided(refund_id=request.refund_id, return_id=request.return_id,
                              outcome=outcome, amount=request.amount, decided_by="hq-anna",
                              reasons=[f"{outcome.value} by hq-anna"], decided_at=utc_now()))


def test_while_live_the_page_asks_nothing_yet_shows_the_decision(
        linked: Running, hub: HubStandIn, page: Any) -> None:
    expect = sync_api.expect
    reads = Reads(page)
    by = open_page(page, linked)
    expect(by("live-state")).to_have_attribute("data-state", "live")
    reads.return_id = record_by_hand(by)
    expect(by("return-card")).to_be_focused()  # keyboard and screen reader follow the return
    expect(by("refund-status")).to_contain_text("Waiting for hub decision")  # acked: pushed
    expect(by("outbox-pending")).to_have_attribute("data-pending", "0")

    settled = reads.count
    page.wait_for_timeout(2 * POLL_MS + 500)  # two polling periods with nothing happening
    assert reads.count == settled  # no request about the open return while nothing changed

    decide(hub, RefundOutcome.PENDING_APPROVAL)
    expect(by("refund-status")).to_have_attribute("data-status", "pending_approval")
    decide(hub, RefundOutcome.APPROVED)
    expect(by("refund-status")).to_have_attribute("data-status", "approved")
    expect(by("refund-reasons")).to_contain_text("Decided by hq-anna.")
    assert by("refund-status").get_attribute("aria-live") == "polite"  # read out when it changes
    assert reads.count - settled <= 2  # one read per decision pushed, none in between


def test_when_the_stream_drops_the_page_polls(linked: Running, hub: HubStandIn,
                                              page: Any) -> None:
    expect = sync_api.expect
    reads = Reads(page)
    by = open_page(page, linked)
    expect(by("live-state")).to_have_attribute("data-state", "live")
    reads.return_id = record_by_hand(by)
    expect(by("refund-status")).to_contain_text("Waiting for hub decision")

    page.route(STREAM, lambda route: route.abort())  # the browser cannot reconnect...
    linked.agent.events.close()  # ...after the agent ends its streams
    expect(by("live-state")).to_have_attribute("data-state", "polling")
    polled = reads.count
    reads.wait_for(page, polled + 2)

    decide(hub, RefundOutcome.APPROVED)  # announced to no stream: found by polling
    expect(by("refund-status")).to_have_attribute("data-status", "approved")


def test_a_page_that_cannot_open_the_stream_polls_then_goes_live(
        linked: Running, hub: HubStandIn, page: Any) -> None:
    expect = sync_api.expect
    reads = Reads(page)
    page.route(STREAM, lambda route: route.abort())
    by = open_page(page, linked)
    reads.return_id = record_by_hand(by)
    expect(by("live-state")).to_have_attribute("data-state", "polling")
    reads.wait_for(page, 2)

    page.unroute(STREAM)  # the stream can be opened again: the page goes back to live
    expect(by("live-state")).to_have_attribute("data-state", "live")
    decide(hub, RefundOutcome.REJECTED)
    expect(by("refund-status")).to_have_attribute("data-status", "rejected")


def test_the_form_choices_come_from_the_api(agent: Running, page: Any) -> None:
    expect = sync_api.expect
    offered = agent.http.get("/api/options").json()
    by = open_page(page, agent)
    by("scan-input").fill("4006381333931")
    by("scan-input").press("Enter")
    by("record-manually").click()

    def shown(testid: str) -> list[dict[str, Any]]:
        return list(by(testid).evaluate(
            "s => [...s.options].map(o => ({value: o.value, label: o.textContent, "
            "selected: o.defaultSelected}))"))

    assert shown("return-channel") == offered["channels"]
    assert shown("refund-method") == offered["refund_methods"]
    words = page.evaluate("id => [...document.getElementById(id).options].map(o => o.value)",
                          "reasons")
    assert words == offered["reasons"]

    more = offered | {"grades": [*offered["grades"], {"value": "mint", "label": "Mint",
                                                      "selected": False}]}
    page.route("**/api/options", lambda route: route.fulfill(json=more))
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    assert shown("inspection-grade")[-1] == {"value": "mint", "label": "Mint",
                                             "selected": False}
    assert shown("disposition-select") == offered["dispositions"]
    tags = page.locator("[data-testid=compliance-tags] input").evaluate_all(
        "inputs => inputs.map(i => [i.value, i.labels[0].textContent.trim()])")
    assert tags == [[tag["value"], tag["label"]] for tag in offered["compliance_tags"]]


def test_every_input_has_a_label(agent: Running, page: Any) -> None:
    by = open_page(page, agent)
    by("scan-input").fill("4006381333931")
    by("scan-input").press("Enter")
    by("record-manually").click()
    by("add-item").click()  # item rows are made from a template: two of them now
    unlabelled = page.evaluate(
        "() => [...document.querySelectorAll('input, select, textarea')]"
        ".filter(e => e.type !== 'hidden' && ![...e.labels].some(l => l.textContent.trim()))"
        ".map(e => e.name || e.id)")
    assert unlabelled == []
    names = page.evaluate(
        "() => ['return-reason', 'inspection-reason'].map(t => "
        "document.querySelector(`[data-testid=${t}]`).labels[0].textContent.trim())")
    assert len(set(names)) == 2  # two reasons, told apart by their labels


def test_money_on_the_page_is_exact(agent: Running, page: Any) -> None:
    open_page(page, agent)
    totals = page.evaluate("""async () => {
        const m = await import('/static/common.js');
        const line = (amount, quantity, currency = 'USD') =>
            ({quantity, unit_price: {amount, currency}});
        const total = (items) => {
            const t = m.linesTotal(items);
            return t && m.fromMinor(t.units, t.currency);
        };
        return [
            total([line('0.10', 3), line('0.20', 1)]),
            total([line('999999999999.99', 999)]),
            total([line('100', 2, 'JPY')]),
            total([line('1.005', 1, 'KWD'), line('0.001', 1, 'KWD')]),
            total([line('100.5', 1, 'JPY')]),
            total([line('0x2D', 1)]),
            total([line('1e2', 1)]),
            total([line('1.00', 1), line('1.00', 1, 'EUR')]),
        ];
    }""")
    assert totals == [
        {"amount": "0.50", "currency": "USD"},
        {"amount": "998999999999990.01", "currency": "USD"},
        {"amount": "200", "currency": "JPY"},
        {"amount": "1.006", "currency": "KWD"},
        None, None, None, None,  # more decimals than JPY has, not decimals, two currencies
    ]
