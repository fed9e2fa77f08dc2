"""The counter page in headless Chromium: sign in with a PIN on the keypad, record a return as
the signed-in member of staff, approve a refund offline as the store manager, sign out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol import config_topic
from tests.edge.conftest import NODE, STORE, Running, running_agent
from tests.edge_auth.conftest import auth_settings, config_payload
from tests.support.broker import Probe, TestBroker
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def page() -> Iterator[Any]:
    """A tablet-sized touch page in headless Chromium."""
    with chromium_page(has_touch=True, timezone_id="UTC") as page:
        yield page


def open_page(page: Any, run: Running) -> Any:
    expect = sync_api.expect
    expect.set_options(timeout=10_000)
    page.goto(run.url)
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page.get_by_test_id


def type_pin(by: Any, pin: str) -> None:
    for digit in pin:
        by(f"pin-key-{digit}").tap()


def sign_in(by: Any, staff_id: str, pin: str) -> None:
    by("signin-staff").fill(staff_id)
    type_pin(by, pin)
    sync_api.expect(by("pin-dots")).to_have_attribute("data-length", str(len(pin)))
    by("signin-submit").tap()


def record_by_hand(by: Any, price: str, submit: str = "record-return") -> None:
    by("scan-input").fill("SKU-KETTLE-1")
    by("scan-input").press("Enter")
    by("record-manually").click()
    by("item-price").fill(price)
    by("return-reason").fill("defective")
    if submit:
        by(submit).click()


def test_sign_in_on_the_keypad_and_record_a_return(enrolled: Running, page: Any) -> None:
    expect = sync_api.expect
    by = open_page(page, enrolled)
    expect(by("signin")).to_be_visible()
    expect(by("scan-input")).to_be_hidden()  # nothing of the counter before a sign-in

    sign_in(by, "ann", "0000")
    expect(by("signin-error")).to_contain_text("Wrong staff id or PIN")
    expect(by("pin-dots")).to_have_attribute("data-length", "0")
    type_pin(by, "47119")
    by("pin-back").tap()
    by("signin-submit").tap()
    expect(by("staff-name")).to_have_text("ann (staff)")
    expect(by("signin")).to_be_hidden()

    record_by_hand(by, "34.90")
    expect(by("return-state")).to_have_text("Received")
    expect(by("return-total")).to_have_text("34.90 EUR")
    expect(by("approve-offline")).to_be_hidden()  # staff, not a manager
    assert enrolled.http.get("/api/health").json()["outbox_pending"] == 3  # + stock.moved
    with enrolled.agent.store.read() as tx:
        assert tx.scalar("SELECT staff_id FROM returns") == "ann"

    by("sign-out").click()
    expect(by("signin")).to_be_visible()
    expect(by("staff-name")).to_be_hidden()


def test_a_manager_approves_a_refund_offline_on_the_page(enrolled: Running, page: Any) -> None:
    expect = sync_api.expect
    by = open_page(page, enrolled)
    sign_in(by, "max", "8080")
    expect(by("staff-name")).to_have_text("max (manager)")
    expect(by("broker-state")).to_have_attribute("data-state", "offline")

    record_by_hand(by, "60.00", submit="")
    expect(by("approve-offline")).to_be_hidden()  # above the 50 EUR limit
    by("item-price").fill("45.00")
    expect(by("approve-offline")).to_be_visible()
    expect(by("approve-offline-note")).to_contain_text("50.00 EUR")
    by("refund-method").select_option("cash")
    by("approve-offline").click()
    expect(by("refund-status")).to_have_attribute("data-status", "approved_offline")
    expect(by("refund-status")).to_contain_text(
        "Approved offline by max, awaiting hub confirmation (45.00 EUR)")


def test_the_offline_limit_is_checked_with_exact_decimals(enrolled: Running, page: Any) -> None:
    """The page offers "approve offline" only for an amount the API takes, within the limit to
    the cent: decimal arithmetic, not floats (a float took "0x2D" as 45)."""
    expect = sync_api.expect
    by = open_page(page, enrolled)
    sign_in(by, "max", "8080")
    record_by_hand(by, "50.00", submit="")
    expect(by("approve-offline")).to_be_visible()  # exactly the 50.00 EUR limit
    for refused in ("50.01", "50.001", "0x2D", "4.5e1", ""):
        by("item-price").fill(refused)
        expect(by("approve-offline")).to_be_hidden()
    by("item-price").fill("16.67")
    by("item-qty").fill("3")  # 50.01
    expect(by("approve-offline")).to_be_hidden()
    by("item-price").fill("16.66")  # 49.98
    expect(by("approve-offline")).to_be_visible()


def test_without_a_config_the_page_needs_no_sign_in(tmp_path: Path, broker: TestBroker,
                                                    page: Any) -> None:
    """The store is enrolled while the page is open: the config comes over the hub link, and the
    page hears of it on its live stream (health alone is re-read only every 30 s) and asks for a
    sign-in."""
    expect = sync_api.expect
    creds = broker.node_creds(STORE, NODE)
    settings = auth_settings(tmp_path, mqtt_host=creds.host, mqtt_port=creds.port,
                             mqtt_username=creds.username, mqtt_password=creds.password)
    hub = Probe(broker.hub_creds())
    try:
        with running_agent(settings) as run:
            by = open_page(page, run)
            expect(by("live-state")).to_have_attribute("data-state", "live")
            expect(by("broker-state")).to_have_attribute("data-state", "connected")
            expect(by("signin")).to_be_hidden()
            expect(by("scan-input")).to_be_visible()
            hub.publish(config_topic(STORE), config_payload(1), retain=True)  # as the hub does
            expect(by("signin")).to_be_visible()
    finally:
        hub.close()
