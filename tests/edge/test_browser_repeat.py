"""The counter page records a return once, whatever the hands and the network do (issue 9, "What
broke" 4): a double click on "Record return", a reload while the answer is lost, and a lost answer
the page retries each make exactly one return at the counter and the hub, one receipt on the
printer stand-in and one refund, decided by the real hub. Real broker, `acorn-hub serve`,
`acorn-edge run`, printer stand-in and headless Chromium."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hardware.sim.printer import PrinterStandIn
from tests.support.broker import TestBroker
from tests.support.browser import BROWSER_MARKS, chromium_page, wait_in_page
from tests.support.http_calls import http_get
from tests.support.procs import BIN, Proc, edge_proc, hub_proc, wait_for

pytestmark = BROWSER_MARKS

sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Counter:
    """A hub, one store's agent printing on a stand-in, and a Chromium page on its counter."""

    hub: Proc
    edge: Proc
    printer: PrinterStandIn
    page: Any

    def token(self) -> str:
        out = subprocess.run([str(BIN / "acorn-hub"), "token", "create", "--name", "hq",
                              "--role", "admin"], env=self.hub.env, capture_output=True,
                             text=True, check=True)
        return out.stdout.strip().splitlines()[-1]


@pytest.fixture
def counter(broker: TestBroker, tmp_path: Path) -> Iterator[Counter]:
    """Everything running; stopped after the test."""
    with PrinterStandIn(tmp_path / "printed") as printer:
        hub = hub_proc(tmp_path, broker.hub_creds())
        edge = edge_proc(tmp_path, "store-a", "n1", broker.node_creds("store-a", "n1"),
                         printer_url=printer.url, print_retry_seconds="0.2")
        try:
            hub.start()
            edge.start()
            with chromium_page(has_touch=True, timezone_id="UTC") as page:
                yield Counter(hub, edge, printer, page)
        finally:
            edge.stop()
            hub.stop()


def open_and_fill(c: Counter, reason: str) -> Any:
    """The counter page with a walk-in return filled in, ready to record."""
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    by = c.page.get_by_test_id
    c.page.goto(f"{c.edge.url}/")
    expect(c.page.locator("body[data-ready=true]")).to_have_count(1)
    by("scan-input").fill("4006381333931")
    by("scan-input").press("Enter")
    by("record-manually").click()
    by("item-price").fill("19.99")
    by("return-reason").fill(reason)
    return by


def exactly_one(c: Counter) -> None:
    """One return at the counter and at the hub, one receipt printed, one refund approved."""
    returns = http_get(f"{c.edge.url}/api/returns", timeout=5).json()
    assert len(returns["items"]) == 1, returns
    return_id = returns["items"][0]["return_id"]
    token = c.token()

    def at_hub() -> Any:
        answer = http_get(f"{c.hub.url}/api/returns/{return_id}", timeout=5,
                          headers={"Authorization": f"Bearer {token}"})
        body = answer.json() if answer.status_code == 200 else {}
        return body if body.get("refunds") and body["refunds"][0]["state"] == "approved" else None

    story = wait_for(at_hub, 30, "the refund decided at the hub")
    assert len(story["refunds"]) == 1
    listed = http_get(f"{c.hub.url}/api/returns", timeout=5,
                      headers={"Authorization": f"Bearer {token}"}).json()
    assert listed["total"] == 1
    wait_for(lambda: len(c.printer.jobs) >= 1, 15, "the receipt")
    time.sleep(1.0)  # a second receipt would be out by now (print retries every 0.2 s)
    assert len(c.printer.jobs) == 1


def test_a_double_click_records_one_return(counter: Counter) -> None:
    """Promise: a double click on "Record return" makes one return, one receipt, one refund."""
    by = open_and_fill(counter, "double click")
    by("record-return").dblclick()
    sync_api.expect(by("return-state")).to_have_text("Received")
    exactly_one(counter)


def test_a_lost_answer_is_retried_with_the_same_key_and_shown_as_done(counter: Counter) -> None:
    """Promise: when the agent's answer is lost on the network, the page retries with the same
    key and shows the return once recorded, not an error and not a second return."""
    keys: list[str] = []

    def lose_first_answer(route: Any) -> None:
        request = route.request
        if request.method != "POST":
            route.continue_()
            return
        keys.append(request.headers["idempotency-key"])
        if len(keys) == 1:
            route.fetch()  # the agent records it...
            route.abort("connectionreset")  # ...and the answer never arrives
        else:
            route.continue_()

    counter.page.route("**/api/returns", lose_first_answer)
    by = open_and_fill(counter, "lost answer")
    by("record-return").click()
    sync_api.expect(by("return-state")).to_have_text("Received")
    sync_api.expect(counter.page.get_by_test_id("error")).to_be_hidden()
    assert len(keys) >= 2 and len(set(keys)) == 1
    exactly_one(counter)


def test_a_reload_while_recording_re_sends_the_same_action_once(counter: Counter) -> None:
    """Promise: a reload while "Record return" waits for its answer sends the pending action
    again with its key after the reload, and the counter still has one return."""
    keys: list[str] = []
    reloaded = False

    def lose_until_reload(route: Any) -> None:
        request = route.request
        if request.method != "POST":
            route.continue_()
            return
        keys.append(request.headers["idempotency-key"])
        if reloaded:
            route.continue_()
        else:
            if len(keys) == 1:
                route.fetch()  # recorded at the agent, answer lost
            route.abort("connectionreset")

    counter.page.route("**/api/returns", lose_until_reload)
    by = open_and_fill(counter, "reload")
    by("record-return").click()
    wait_in_page(counter.page, lambda: keys, 10, "the first try")
    reloaded = True
    counter.page.reload()
    sync_api.expect(by("return-state")).to_have_text("Received")
    assert len(set(keys)) == 1 and len(keys) >= 2
    exactly_one(counter)
