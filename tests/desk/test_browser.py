"""End to end in headless Chromium: a store records a return that needs approval; an approver
signs in to the desk, filters the queue, approves it; the store's counter shows the approval.

Real processes: Mosquitto, ``acorn-hub serve`` and ``acorn-edge run``; the approver's user and
the store's region come from the real CLI.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import a_return
from tests.support.broker import TestBroker
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.http_calls import http_get, http_post
from tests.support.procs import BIN, Proc, edge_proc, hub_proc, wait_for

PASSWORD = "rita's long desk password"

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Shop:
    """The running hub and store A's counter."""

    hub: Proc
    edge: Proc

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [str(BIN / "acorn-hub"), *args],
            env=self.hub.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout

    def record(self, price: str, category: str | None = None) -> dict[str, Any]:
        ask = a_return(1, price)
        if category:
            ask["items"][0]["category"] = category
        answer = http_post(f"{self.edge.url}/api/returns", json=ask, timeout=10)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def counter(self, return_id: str) -> str | None:
        body = http_get(f"{self.edge.url}/api/returns/{return_id}", timeout=5).json()
        refund = body.get("refund")
        return refund.get("outcome") if isinstance(refund, dict) else None


@pytest.fixture
def shop(broker: TestBroker, tmp_path: Path) -> Iterator[Shop]:
    hub = hub_proc(tmp_path, broker.hub_creds())
    edge = edge_proc(tmp_path, "store-a", "n1", broker.node_creds("store-a", "n1"))
    try:
        hub.start()
        edge.start()
        shop = Shop(hub, edge)
        shop.cli("stores", "set", "store-a", "--region", "north", "--city", "oslo")
        secret = tmp_path / "rita.txt"
        secret.write_text(PASSWORD + "\n")
        shop.cli(
            "users",
            "add",
            "rita",
            "--role",
            "regional_manager",
            "--name",
            "Rita Regional",
            "--region",
            "north",
            "--password-file",
            str(secret),
        )
        yield shop
    finally:
        edge.stop()
        hub.stop()


@pytest.fixture
def page() -> Iterator[Any]:
    """A laptop-sized touch page in headless Chromium."""
    with chromium_page(1280, 800, has_touch=True) as page:
        yield page


def test_an_approver_approves_in_the_desk_and_the_counter_shows_it(shop: Shop, page: Any) -> None:
    small = shop.record("120.00")  # level 1: a regional manager may approve it
    large = shop.record("700.00")  # level 2: finance; filtered out below
    tv = shop.record("30.00", "electronics")  # POS electronics: refund after inspection
    assert wait_for(lambda: shop.counter(tv["return_id"]), 30, "the wait at the counter") == (
        "awaiting_inspection")
    for ret in (small, large):
        assert (
            wait_for(
                lambda r=ret: shop.counter(r["return_id"]),
                30,
                "the hub's first decision at the counter",
            )
            == "pending_approval"
        )
    refund_id = small["refund"]["refund_id"]

    expect, by = sync_api.expect, page.get_by_test_id
    expect.set_options(timeout=15_000)
    page.goto(f"{shop.hub.url}/desk")
    expect(page).to_have_url(f"{shop.hub.url}/login")
    by("username").fill("rita")
    by("password").fill(PASSWORD)
    by("sign-in").click()
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    expect(by("who")).to_contain_text("Rita Regional")
    expect(by("queue-row")).to_have_count(2)

    by("filter-level").select_option("1")
    expect(by("queue-row")).to_have_count(1)
    row = by("queue-row").first
    expect(row).to_have_attribute("data-refund", refund_id)
    expect(row.get_by_test_id("ageing")).to_have_attribute("data-ageing", "ok")
    row.click()
    expect(by("story")).to_be_visible()
    expect(by("rules")).to_contain_text("needs approval at level 1")
    by("decision-reason").fill("receipt checked")
    by("approve").click()
    expect(by("toast")).to_contain_text(f"refund {refund_id} approved")
    expect(by("queue-row")).to_have_count(0)

    assert wait_for(
        lambda: shop.counter(small["return_id"]) == "approved",
        30,
        "the approval at store A's counter",
    )
    assert shop.counter(large["return_id"]) == "pending_approval"

    by("filter-waiting-for").select_option("inspection")  # the stores' unfinished inspections
    expect(by("queue-row")).to_have_count(1)
    waiting = by("queue-row").first
    expect(waiting).to_have_attribute("data-refund", tv["refund"]["refund_id"])
    expect(waiting).to_contain_text("refund after inspection (pos / electronics)")
    expect(waiting.get_by_test_id("select")).to_be_disabled()
    expect(by("bulk-approve")).to_be_hidden()
    expect(by("queue-total")).to_contain_text("1 waiting for the store's inspection")
